import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { registerConnectorCommands } from "../../src/cli/connector-commands.js";
import { messageItem } from "./helpers/common.js";
import { deadPort } from "./helpers/fake-relay.js";
import { connectorWithDeadHook } from "./helpers/stand-ins.js";

const cleanups: (() => Promise<void> | void)[] = [];
let stdout: string[] = [];

beforeEach(() => {
  stdout = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  process.exitCode = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function run(...args: string[]): Promise<void> {
  const program = new Command().exitOverride();
  registerConnectorCommands(program);
  await program.parseAsync(["node", "clawrelay", ...args]);
}

/** A connector on a temp data dir, linked to a fake relay, its hook unreachable; all cleaned up after. */
async function runningConnector() {
  const { dir, relay, connector } = await connectorWithDeadHook(cleanups);
  return { dir, relay, connector, port: String(connector.port) };
}

describe("client commands against a running connector", () => {
  it("send, status and dead-letters talk to the local API", async () => {
    const { dir, relay, connector, port } = await runningConnector();
    // Unauthenticated, the connector refuses and the command says how to give it the token.
    await run("status", "--port", port);
    expect(process.exitCode).toBe(1);
    expect(JSON.parse(stdout.join(""))).toMatchObject({ error: { code: "missing_credentials" } });
    process.exitCode = undefined;
    stdout = [];

    await run(
      "send",
      "carol-agent",
      '{"text":"hi"}',
      "--priority",
      "critical",
      "--ttl",
      "60",
      "--data-dir",
      dir.path,
      "--port",
      port,
    );
    expect(process.exitCode).toBeUndefined();
    const sent = JSON.parse(stdout.join("")) as { outboundId: string; state: string };
    expect(sent.state).toBe("queued");
    const request = await relay.requests.waitFor((entry) => entry.method === "POST");
    expect(JSON.parse(request.body)).toEqual({ payload: { text: "hi" }, priority: "critical", ttlSeconds: 60 });

    // --config: the address and the token from the connector's own config file.
    const config = join(dir.path, "client.json");
    writeFileSync(
      config,
      JSON.stringify({
        agentId: "bob-agent",
        identityDir: dir.path,
        relayUrls: [relay.url],
        dataDir: dir.path,
        listen: { host: "127.0.0.1", port: connector.port },
        hookUrl: "http://127.0.0.1:9/hook",
      }),
    );
    stdout = [];
    await run("status", "--config", config);
    expect(JSON.parse(stdout.join(""))).toMatchObject({ agentId: "bob-agent" });

    // CLAWRELAY_API_TOKEN, as the daemon's own override names it.
    vi.stubEnv("CLAWRELAY_API_TOKEN", readFileSync(join(dir.path, "api-token"), "utf8").trim());
    stdout = [];
    await run("dead-letters", "--port", port);
    expect(JSON.parse(stdout.join(""))).toEqual({ items: [] });

    stdout = [];
    await run("send", "Bad Agent", "1", "--data-dir", dir.path, "--port", port);
    expect(process.exitCode).toBe(1);
    expect(JSON.parse(stdout.join(""))).toMatchObject({ error: { code: "invalid_request" } });
  });

  it("send --reply-to: the recipient and conversation come from the received message; the answer shows the conversation", async () => {
    const { dir, relay, connector, port } = await runningConnector();
    const received = messageItem({ from: "alice-agent", conversationId: "conv-cli-000001" });
    connector.store.storeInbound([received], Date.now());

    const auth = ["--data-dir", dir.path, "--port", port];
    await run("send", '{"text":"hi back"}', "--reply-to", received.id, ...auth);
    expect(process.exitCode).toBeUndefined();
    expect(JSON.parse(stdout.join(""))).toMatchObject({ conversationId: "conv-cli-000001", state: "queued" });
    const request = await relay.requests.waitFor((entry) => entry.method === "POST");
    expect(request.path).toBe("/v1/agents/alice-agent/messages");
    expect(JSON.parse(request.body)).toEqual({
      payload: { text: "hi back" },
      conversationId: "conv-cli-000001",
      inReplyTo: received.id,
    });

    stdout = [];
    await run("send", "carol-agent", "1", "--conversation", "conv-cli-000002", ...auth);
    expect(JSON.parse(stdout.join(""))).toMatchObject({ conversationId: "conv-cli-000002" });

    stdout = [];
    // A bad argument, not a refusal: exit 2.
    await run("send", '{"no":"recipient"}', ...auth);
    expect(process.exitCode).toBe(2);
    expect(stdout).toEqual([]);
  });

  it("says so when no connector is listening", async () => {
    await run("status", "--port", String(await deadPort()));
    expect(process.exitCode).toBe(1);
  });
});
