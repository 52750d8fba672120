import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { loadConnectorConfig, parseConnectorConfig } from "../daemon/config.js";
import { type RunningConnector, startConnector } from "../daemon/daemon.js";
import { newHookSecret } from "../daemon/hook-signing.js";
import { createLogger } from "../daemon/logger.js";
import { registerClientCommands } from "./client-commands.js";
import { action, integer, list, print } from "./command-kit.js";
import { describeTaken, type PortChoice, pickConnectorPort } from "./connector-port.js";
import { writeFileAtomic } from "./files.js";
import { resolveHome } from "./identity-files.js";
import { readableLogStream } from "./log-view.js";
import { addJsonOption, colours, commandLine, fields, nextSteps, type OutputOptions, wantsHuman } from "./output.js";
import { registerSendCommand } from "./send-command.js";
import { registerServiceCommand } from "./service-command.js";

/** Run the daemon until SIGTERM/SIGINT: then stop taking work, close the socket with 1000, exit 0. */
async function runConnector(configFile: string, output: OutputOptions): Promise<void> {
  const config = await loadConnectorConfig(configFile);
  // A terminal gets readable lines; a pipe, a file, a service manager or --json get pino's JSON.
  const destination = wantsHuman(output) ? readableLogStream(process.stdout, colours()) : undefined;
  const running: RunningConnector = await startConnector(config, {
    logger: createLogger(config.logLevel, destination),
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`clawrelay: ${signal} received, stopping\n`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`clawrelay: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

/** What `connector init` wrote and the commands that run it, for a person at a terminal. */
function describeInit(
  written: { config: string; agentId: string; relayUrls: string[] },
  port: number,
  hookUrl: string,
  portsTaken: string,
): string {
  const palette = colours();
  const manager = process.platform === "darwin" ? "--launchd" : "--systemd";
  const rows: [string, string][] = [
    ["agent", written.agentId],
    ["relays", written.relayUrls.join(", ")],
    ["hook", `${hookUrl} (signed with hookSecret from the config; give it to the agent)`],
    ["local API", `http://127.0.0.1:${port}${portsTaken === "" ? "" : ` ${palette.dim(`(${portsTaken})`)}`}`],
  ];
  return `${palette.green("wrote")} ${written.config} ${palette.dim("(0600: it holds the hook secret)")}\n${fields(rows, palette)}${nextSteps(
    [
      {
        what: "run the connector in this terminal",
        command: commandLine(["clawrelay", "connector", "start", "--config", written.config]),
      },
      {
        what: "or keep it running as a service",
        command: commandLine(["clawrelay", "service", "install", manager, "--config", written.config]),
      },
      { what: "then check it", command: commandLine(["clawrelay", "status", "--config", written.config]) },
    ],
    palette,
  )}`;
}

const homeOf = (command: Command) => resolveHome(command.optsWithGlobals<{ home?: string }>().home);

/** `connector start|init`, and the commands that talk to a running connector. */
export function registerConnectorCommands(program: Command): void {
  const connector = program.command("connector").description("run and configure the connector daemon");

  addJsonOption(
    connector
      .command("start")
      .description("run the connector daemon in the foreground (readable logs on a terminal, else JSON lines)")
      .requiredOption("--config <file>", "connector config file (JSON)"),
  ).action(action(async (options: { config: string } & OutputOptions) => runConnector(options.config, options)));

  const init = connector
    .command("init")
    .description("write a ready-to-run connector config for an agent")
    .requiredOption("--agent <dir>", "the agent's identity directory")
    .requiredOption("--hook <url>", "the agent's webhook URL for messages")
    .option("--relay <urls>", "relay URL(s), comma separated, tried in order (default: the token's relay)", list)
    .option("--receipt-hook <url>", "webhook URL for receipts (default: the hook URL)")
    .option("--out <file>", "where to write the config (default: <agent dir>/connector.json)")
    .addOption(
      new Option(
        "--port <port>",
        "local API port (default: the first from 19400 no other agent's connector.json under <home>/agents uses)",
      ).argParser(integer("port", 1, 65_535)),
    )
    .option("--force", "overwrite an existing config file");
  addJsonOption(init).action(
    action(
      async (
        options: {
          agent: string;
          hook: string;
          relay?: string[];
          receiptHook?: string;
          out?: string;
          port?: number;
          force?: boolean;
        } & OutputOptions,
        command: Command,
      ) => {
        const agentDir = resolve(options.agent);
        const { loadAgentIdentity } = await import("./identity-files.js");
        const identity = await loadAgentIdentity(agentDir);
        const out = resolve(options.out ?? join(agentDir, "connector.json"));
        if (existsSync(out) && !options.force) throw new Error(`${out} exists; pass --force to overwrite it`);
        // Without --port: one no other agent's connector here listens on (connector-port.ts).
        const choice: PortChoice =
          options.port === undefined
            ? await pickConnectorPort(homeOf(command), out)
            : { port: options.port, taken: [] };
        const port = choice.port;
        const raw = {
          agentId: identity.id,
          identityDir: agentDir,
          relayUrls: options.relay && options.relay.length > 0 ? options.relay : [identity.relay],
          dataDir: join(agentDir, "connector-data"),
          listen: { host: "127.0.0.1", port },
          hookUrl: options.hook,
          ...(options.receiptHook ? { receiptHookUrl: options.receiptHook } : {}),
          // Signs every hook call; the agent verifies with it (README "Signed hook calls").
          hookSecret: newHookSecret(),
        };
        parseConnectorConfig(raw, { source: out });
        // It holds the hook secret: 0600, also when --force overwrites a looser file.
        await writeFileAtomic(out, `${JSON.stringify(raw, null, 2)}\n`, 0o600);
        const written = { config: out, agentId: identity.id, relayUrls: raw.relayUrls, hookSigned: true };
        const why = describeTaken(choice);
        if (wantsHuman(options)) process.stdout.write(describeInit(written, port, raw.hookUrl, why));
        else {
          print(written);
          // The JSON keeps its shape; the port a script may want is in the config it names.
          if (why !== "") process.stderr.write(`connector init: local API port ${port} (${why})\n`);
        }
      },
    ),
  );

  registerSendCommand(program);
  registerClientCommands(program);
  registerServiceCommand(program);
}
