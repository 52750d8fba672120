import { type Command, Option } from "commander";

/** How a client command finds the local connector and its API token (see localTarget). */
export function addTargetOptions(command: Command): Command {
  return command
    .addOption(new Option("--config <file>", "the connector's config file: its address and API token"))
    .addOption(new Option("--data-dir <dir>", "the connector's data dir, holding its api-token"))
    .addOption(new Option("--port <port>", "local connector API port (default 19400)"))
    .addOption(new Option("--host <host>", "local connector API host (default 127.0.0.1)"));
}
