import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { PRIORITIES } from "@clawrelay/protocol";
import { type Command, InvalidArgumentError, Option } from "commander";
import { ConfigError, loadConnectorConfig, parseConnectorConfig } from "../daemon/config.js";
import { type RunningConnector, startConnector } from "../daemon/daemon.js";
import { newHookSecret } from "../daemon/hook-signing.js";
import {
  callLocalApi,
  type LocalAnswer,
  type LocalTargetOptions,
  localTarget,
  TOKEN_HINT,
} from "../daemon/local-client.js";
import { renderLaunchdPlist, renderSystemdUnit, serviceName } from "../daemon/service-units.js";
import { writeFileAtomic } from "./files.js";

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function fail(message: string): void {
  process.stderr.write(`clawrelay: ${message}\n`);
  process.exitCode = 1;
}

/** Print a local API answer; a non-2xx answer sets a failing exit code. */
function report(answer: LocalAnswer): void {
  print(answer.body);
  if (answer.status === 401) process.stderr.write(`clawrelay: ${TOKEN_HINT}\n`);
  if (answer.status < 200 || answer.status >= 300) process.exitCode = 1;
}

function integer(label: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${label} must be an integer from ${min} to ${max}`);
    }
    return parsed;
  };
}

function list(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

/** How a client command finds the local connector and its API token (see localTarget). */
function addTargetOptions(command: Command): Command {
  return command
    .addOption(new Option("--config <file>", "the connector's config file: its address and API token"))
    .addOption(new Option("--data-dir <dir>", "the connector's data dir, holding its api-token"))
    .addOption(new Option("--port <port>", "local connector API port (default 19400)"))
    .addOption(new Option("--host <host>", "local connector API host (default 127.0.0.1)"));
}

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

/** Wrap an async action so failures print one clear line (never a stack) and set exit code 1. */
function action<Args extends unknown[]>(run: (...args: Args) => Promise<void>) {
  return async (...args: Args) => {
    try {
      await run(...args);
    } catch (error) {
      fail(error instanceof ConfigError ? error.message : (error as Error).message);
    }
  };
}

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

  const send = program
    .command("send")
    .description("send a message through the local connector (with --reply-to, <to> may be left out)")
    .usage("[options] [to] <json>")
    .argument("[to]", "recipient agent id (default with --reply-to: that message's sender)")
    .argument("[json]", "payload, as JSON")
    .addOption(new Option("--priority <priority>", "lane").choices([...PRIORITIES]))
    .addOption(new Option("--ttl <seconds>", "time to live").argParser(integer("ttl", 1, 604_800)))
    .option("--notify <list>", "receipts to ask for: delivered,processed,delayed", list)
    .option("--to-relay <url>", "the recipient's relay, when it is not ours")
    .option("--correlation-id <id>", "correlation id (default: a new ULID)")
    .option("--idempotency-key <key>", "idempotency key (default: fixed per message)")
    .option("--reply-to <id>", "the message id or correlation id of a received message this one answers")
    .option("--conversation <id>", "conversation id (default with --reply-to: that message's conversation)");
  addTargetOptions(send).action(
    action(
      async (
        first: string | undefined,
        second: string | undefined,
        options: {
          priority?: string;
          ttl?: number;
          notify?: string[];
          toRelay?: string;
          correlationId?: string;
          idempotencyKey?: string;
          replyTo?: string;
          conversation?: string;
        } & LocalTargetOptions,
      ) => {
        // One argument is the payload alone: the recipient comes from --reply-to's message.
        const [to, json] = second === undefined ? [undefined, first] : [first, second];
        if (json === undefined) throw new Error("missing the payload (JSON)");
        if (to === undefined && !options.replyTo) throw new Error("missing the recipient: give <to> or --reply-to");
        let payload: unknown;
        try {
          payload = JSON.parse(json);
        } catch {
          throw new Error(`payload is not valid JSON: ${json.slice(0, 80)}`);
        }
        const body = {
          ...(to !== undefined ? { to } : {}),
          payload,
          ...(options.priority ? { priority: options.priority } : {}),
          ...(options.ttl !== undefined ? { ttlSeconds: options.ttl } : {}),
          ...(options.notify ? { notify: options.notify } : {}),
          ...(options.toRelay ? { toRelay: options.toRelay } : {}),
          ...(options.correlationId ? { correlationId: options.correlationId } : {}),
          ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
          ...(options.replyTo ? { inReplyTo: options.replyTo } : {}),
          ...(options.conversation ? { conversationId: options.conversation } : {}),
        };
        report(await callLocalApi(await localTarget(options), "POST", "/v1/outbound", body));
      },
    ),
  );

  addTargetOptions(
    program.command("status").description("show the local connector's link, role, breakers and queues"),
  ).action(
    action(async (options: LocalTargetOptions) => {
      report(await callLocalApi(await localTarget(options), "GET", "/v1/status"));
    }),
  );

  addTargetOptions(
    program
      .command("dead-letters")
      .description("list the local connector's dead letters, or put them back for delivery")
      .option("--replay", "replay dead letters into the inbox (all, or those given with --ids)")
      .option("--ids <list>", "with --replay: only these item ids, comma separated", list),
  ).action(
    action(async (options: { replay?: boolean; ids?: string[] } & LocalTargetOptions) => {
      const target = await localTarget(options);
      if (options.replay) {
        const body = options.ids && options.ids.length > 0 ? { ids: options.ids } : {};
        report(await callLocalApi(target, "POST", "/v1/dead-letters/replay", body));
      } else {
        report(await callLocalApi(target, "GET", "/v1/dead-letters"));
      }
    }),
  );

  const service = program.command("service").description("run the connector under a service manager");
  service
    .command("install")
    .description("write a systemd unit or launchd plist that keeps the connector running")
    .requiredOption("--config <file>", "connector config file (JSON)")
    .addOption(new Option("--systemd", "a systemd unit").conflicts("launchd"))
    .addOption(new Option("--launchd", "a launchd agent plist").conflicts("systemd"))
    .option("--out <file>", "write the unit here (default: print it)")
    .action(
      action(async (options: { config: string; systemd?: boolean; launchd?: boolean; out?: string }) => {
        if (!options.systemd && !options.launchd) throw new Error("choose --systemd or --launchd");
        const configPath = resolve(options.config);
        const config = await loadConnectorConfig(configPath);
        const spec = {
          agentId: config.agentId,
          nodePath: process.execPath,
          scriptPath: resolve(process.argv[1] ?? "clawrelay.mjs"),
          configPath,
          logDir: join(homedir(), "Library", "Logs"),
        };
        const text = options.systemd ? renderSystemdUnit(spec) : renderLaunchdPlist(spec);
        if (!options.out) {
          process.stdout.write(text);
          return;
        }
        const out = resolve(options.out);
        await writeFile(out, text, { mode: 0o644 });
        const name = serviceName(config.agentId);
        const hint = options.systemd
          ? `copy to ~/.config/systemd/user/${name}.service, then: systemctl --user daemon-reload && systemctl --user enable --now ${name}`
          : `copy to ~/Library/LaunchAgents/com.clawrelay.connector.${config.agentId}.plist, then: launchctl load -w <that file>`;
        process.stderr.write(`wrote ${out}\n${hint}\n`);
      }),
    );
}
