import { type Command, Option } from "commander";
import { chooseConnectorConfig, type TargetFlags } from "./find-connector.js";
import { resolveHome } from "./identity-files.js";

/**
 * How a client command finds the local connector and its API token (see localTarget). Before the
 * action runs, `--agent`, CLAWRELAY_CONFIG, CLAWRELAY_AGENT or the only agent with a connector
 * become the `config` option (chooseConnectorConfig has the order), so the action reads one file.
 * A usage error there exits 2, an unknown agent 1, both as one `clawrelay: …` line (main.ts).
 */
export function addTargetOptions(command: Command, env: NodeJS.ProcessEnv = process.env): Command {
  return command
    .addOption(
      new Option("--config <file>", "the connector's config file: its address and API token (env CLAWRELAY_CONFIG)"),
    )
    .addOption(
      new Option(
        "--agent <id>",
        "the agent whose connector to use: <home>/agents/<id>/connector.json, as connector init writes it " +
          "(env CLAWRELAY_AGENT). Without --agent, --config, --port, --host, --data-dir or their variables: " +
          "the only agent there with a connector.json",
      ),
    )
    .addOption(new Option("--data-dir <dir>", "the connector's data dir, holding its api-token"))
    .addOption(new Option("--port <port>", "local connector API port (default 19400)"))
    .addOption(new Option("--host <host>", "local connector API host (default 127.0.0.1)"))
    .hook("preAction", async (_command, actionCommand) => {
      const flags = actionCommand.opts<TargetFlags>();
      const home = resolveHome(actionCommand.optsWithGlobals<{ home?: string }>().home, env);
      const config = await chooseConnectorConfig(flags, home, env);
      if (config !== undefined) actionCommand.setOptionValue("config", config);
    });
}
