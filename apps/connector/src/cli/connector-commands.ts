import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { loadConnectorConfig, parseConnectorConfig } from "../daemon/config.js";
import { type RunningConnector, startConnector } from "../daemon/daemon.js";
import { newHookSecret } from "../daemon/hook-signing.js";
import { registerClientCommands } from "./client-commands.js";
import { action, integer, list, print } from "./command-kit.js";
import { writeFileAtomic } from "./files.js";
import { registerSendCommand } from "./send-command.js";
import { registerServiceCommand } from "./service-command.js";

/** Run the daemon until SIGTERM/SIGINT: then stop taking work, close the socket with 1000, exit 0. */
async function runConnector(configFile: string): Promise<void> {
  const config = await loadConnectorConfig(configFile);
  const running: RunningConnector = await startConnector(config);
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

/** `connector start|init`, and the commands that talk to a running connector. */
export function registerConnectorCommands(program: Command): void {
  const connector = program.command("connector").description("run and configure the connector daemon");

  connector
    .command("start")
    .description("run the connector daemon in the foreground")
    .requiredOption("--config <file>", "connector config file (JSON)")
    .action(action(async (options: { config: string }) => runConnector(options.config)));

  connector
    .command("init")
    .description("write a ready-to-run connector config for an agent")
    .requiredOption("--agent <dir>", "the agent's identity directory")
    .requiredOption("--hook <url>", "the agent's webhook URL for messages")
    .option("--relay <urls>", "relay URL(s), comma separated, tried in order (default: the token's relay)", list)
    .option("--receipt-hook <url>", "webhook URL for receipts (default: the hook URL)")
    .option("--out <file>", "where to write the config (default: <agent dir>/connector.json)")
    .addOption(new Option("--port <port>", "local API port").argParser(integer("port", 1, 65_535)))
    .option("--force", "overwrite an existing config file")
    .action(
      action(
        async (options: {
          agent: string;
          hook: string;
          relay?: string[];
          receiptHook?: string;
          out?: string;
          port?: number;
          force?: boolean;
        }) => {
          const agentDir = resolve(options.agent);
          const { loadAgentIdentity } = await import("./identity-files.js");
          const identity = await loadAgentIdentity(agentDir);
          const out = resolve(options.out ?? join(agentDir, "connector.json"));
          if (existsSync(out) && !options.force) throw new Error(`${out} exists; pass --force to overwrite it`);
          const raw = {
            agentId: identity.id,
            identityDir: agentDir,
            relayUrls: options.relay && options.relay.length > 0 ? options.relay : [identity.relay],
            dataDir: join(agentDir, "connector-data"),
            listen: { host: "127.0.0.1", port: options.port ?? 19_400 },
            hookUrl: options.hook,
            ...(options.receiptHook ? { receiptHookUrl: options.receiptHook } : {}),
            // Signs every hook call; the agent verifies with it (README "Signed hook calls").
            hookSecret: newHookSecret(),
          };
          parseConnectorConfig(raw, { source: out });
          // It holds the hook secret: 0600, also when --force overwrites a looser file.
          await writeFileAtomic(out, `${JSON.stringify(raw, null, 2)}\n`, 0o600);
          print({ config: out, agentId: identity.id, relayUrls: raw.relayUrls, hookSigned: true });
        },
      ),
    );

  registerSendCommand(program);
  registerClientCommands(program);
  registerServiceCommand(program);
}
