import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { registerConnectorCommands } from "../../src/cli/connector-commands.js";
import { renderLaunchdPlist, renderSystemdUnit } from "../../src/daemon/service-units.js";
import { messageItem, tempDir } from "./helpers/common.js";
import { startTestConnector } from "./helpers/connector.js";
import { deadPort, FakeRelay } from "./helpers/fake-relay.js";

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

function configFile(dir: string): string {
  const file = join(dir, "connector.json");
  writeFileSync(
    file,
    JSON.stringify({
      agentId: "bob-agent",
      identityDir: "./identity",
      relayUrls: ["https://relay.example.com"],
      dataDir: "./data",
      hookUrl: "http://127.0.0.1:8080/hook",
    }),
  );
  return file;
}

describe("service units", () => {
  const spec = {
    agentId: "bob-agent",
    nodePath: "/usr/bin/node",
    scriptPath: "/opt/claw relay/clawrelay.mjs",
    configPath: "/etc/claw/50%.json",
  };

  it("systemd: restarts always, waits only for network-online, quotes and escapes arguments", () => {
    const unit = renderSystemdUnit(spec);
    expect(unit).toContain("Restart=always");
    expect(unit).toContain("After=network-online.target");
    expect(unit).not.toMatch(/^(Requires|BindsTo|PartOf)=/m);
    expect(unit.match(/^After=.*$/gm)).toEqual(["After=network-online.target"]);
    expect(unit).toContain(
      'ExecStart="/usr/bin/node" "--max-old-space-size=96" "--max-semi-space-size=4" "/opt/claw relay/clawrelay.mjs" "connector" "start" "--config" "/etc/claw/50%%.json"',
    );
  });

  it("launchd: KeepAlive and escaped program arguments", () => {
    const plist = renderLaunchdPlist({ ...spec, configPath: "/etc/a&b.json" });
    expect(plist).toMatch(/<key>KeepAlive<\/key>\s*<true\/>/);
    expect(plist).toContain("<string>/etc/a&amp;b.json</string>");
    expect(plist).toContain("<string>com.clawrelay.connector.bob-agent</string>");
    // The daemon's heap limits come right after node, before the script.
    expect(plist).toMatch(
      /<string>\/usr\/bin\/node<\/string>\s*<string>--max-old-space-size=96<\/string>\s*<string>--max-semi-space-size=4<\/string>\s*<string>\/opt\/claw relay\/clawrelay.mjs<\/string>/,
    );
  });

  it("service install writes the unit for the config's agent", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const out = join(dir.path, "unit.service");
    await run("service", "install", "--systemd", "--config", configFile(dir.path), "--out", out);
    const unit = readFileSync(out, "utf8");
    expect(unit).toContain("clawrelay connector for agent bob-agent");
    expect(unit).toContain(`"--config" "${join(dir.path, "connector.json")}"`);
    expect(statSync(out).mode & 0o777).toBe(0o644);
    await run("service", "install", "--launchd", "--config", configFile(dir.path));
    expect(stdout.join("")).toContain("<key>KeepAlive</key>");
  });

  it("service install refuses to guess the service manager", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    await run("service", "install", "--config", configFile(dir.path));
    expect(process.exitCode).toBe(1);
  });
});

/** A connector on a temp data dir, linked to a fake relay, its hook unreachable; all cleaned up after. */
async function runningConnector() {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const relay = await new FakeRelay().start();
  cleanups.push(() => relay.close());
  const { connector } = await startTestConnector({
    dataDir: dir.path,
    relayUrls: [relay.url],
    hookUrl: `http://127.0.0.1:${await deadPort()}/hook`,
  });
  cleanups.push(() => connector.close());
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
    await run("send", '{"no":"recipient"}', ...auth);
    expect(process.exitCode).toBe(1);
    expect(stdout).toEqual([]);
  });

  it("says so when no connector is listening", async () => {
    await run("status", "--port", String(await deadPort()));
    expect(process.exitCode).toBe(1);
  });
});
