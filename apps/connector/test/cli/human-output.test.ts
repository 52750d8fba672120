import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../../../../scripts/lib/relay.mjs";
import { commandLine } from "../../src/cli/output.js";
import { tempDir } from "../daemon/helpers/common.js";
import { deadPort } from "../daemon/helpers/fake-relay.js";
import { connectorWithDeadHook } from "../daemon/helpers/stand-ins.js";
import { hasScript, runInPty, spawnInPty } from "./helpers/pty.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, runCli } from "./helpers/run-cli.js";

// The real CLI on a pseudo-terminal (util-linux `script`) and through a pipe: people get text,
// scripts keep the JSON they parse, and --json gives it on a terminal too.
const NO_COLOR = { NO_COLOR: "1" };
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for colour escape sequences
const ESCAPE = /\u001b\[/;

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const lines = (text: string) => text.split("\n").map((line) => line.trim());

let home: ReturnType<typeof tempDir>;
const cleanups: (() => Promise<void> | void)[] = [];
const agentDir = (id: string) => join(home.path, "agents", id);

beforeAll(async () => {
  expect(hasScript(), "util-linux `script` is needed for the terminal tests").toBe(true);
  cliBuilt();
  home = tempDir("clawrelay-human-");
  cleanups.push(home.remove);
}, CLI_TEST_TIMEOUT_MS);
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("init commands on a terminal print what they wrote and the next command", {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  it("registry init, agent create, connector init; the same commands through a pipe or with --json print JSON", async () => {
    const registry = await runInPty(["--home", home.path, "registry", "init", "--iss", "test-registry"], NO_COLOR);
    expect(registry.code, registry.stdout).toBe(0);
    expect(isJson(registry.stdout)).toBe(false);
    // The REGISTRY_JWKS value is there as one JSON line to copy, and the next step names this home.
    expect(lines(registry.stdout).some((line) => isJson(line) && line.includes('"test-registry"'))).toBe(true);
    const createStep = commandLine(["clawrelay", "--home", home.path, "agent", "create"]);
    expect(lines(registry.stdout).some((line) => line.startsWith(`${createStep} <agent-id> --relay `))).toBe(true);

    const created = await runInPty(
      ["--home", home.path, "agent", "create", "alice-agent", "--relay", "https://relay.example.com"],
      NO_COLOR,
    );
    expect(created.code, created.stdout).toBe(0);
    expect(isJson(created.stdout)).toBe(false);
    const initStep = commandLine(["clawrelay", "connector", "init", "--agent", agentDir("alice-agent")]);
    expect(lines(created.stdout).some((line) => line.startsWith(`${initStep} --hook `))).toBe(true);

    const piped = await runCli([
      "--home",
      home.path,
      "agent",
      "create",
      "bob-agent",
      "--relay",
      "https://relay.example.com",
    ]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ id: "bob-agent", dir: agentDir("bob-agent") });

    const config = join(home.path, "alice.json");
    const init = ["connector", "init", "--agent", agentDir("alice-agent"), "--hook", "http://127.0.0.1:9/hook"];
    const human = await runInPty([...init, "--out", config], NO_COLOR);
    expect(human.code, human.stdout).toBe(0);
    expect(isJson(human.stdout)).toBe(false);
    const stepLines = lines(human.stdout);
    expect(stepLines).toContain(commandLine(["clawrelay", "connector", "start", "--config", config]));
    expect(stepLines.some((line) => line.startsWith("clawrelay service install "))).toBe(true);

    const json = await runInPty([...init, "--out", config, "--force", "--json"], NO_COLOR);
    expect(json.code, json.stdout).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      config,
      agentId: "alice-agent",
      relayUrls: ["https://relay.example.com"],
      hookSigned: true,
    });
  });
});

describe("status and dead-letters", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let target: string[];

  beforeAll(async () => {
    const { dir, connector } = await connectorWithDeadHook(cleanups);
    target = ["--port", String(connector.port), "--data-dir", dir.path];
  });

  it("status: a summary on a terminal (colours unless NO_COLOR), JSON through a pipe or with --json", async () => {
    const plain = await runInPty(["status", ...target], NO_COLOR);
    expect(plain.code, plain.stdout).toBe(0);
    expect(isJson(plain.stdout)).toBe(false);
    expect(plain.stdout).not.toMatch(ESCAPE);
    expect(plain.stdout).not.toMatch(/\b\d{13}\b/);
    expect(lines(plain.stdout)[1]?.split(/\s{2,}/)[0]).toBe("health");

    const coloured = await runInPty(["status", ...target]);
    expect(coloured.stdout).toMatch(ESCAPE);

    const piped = await runCli(["status", ...target]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ agentId: "bob-agent", link: { state: expect.any(String) } });

    const json = await runInPty(["status", ...target, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ agentId: "bob-agent" });
  });

  it("dead-letters: text on a terminal, the API's JSON through a pipe", async () => {
    const human = await runInPty(["dead-letters", ...target], NO_COLOR);
    expect(human.code, human.stdout).toBe(0);
    expect(isJson(human.stdout)).toBe(false);
    const piped = await runCli(["dead-letters", ...target]);
    expect(JSON.parse(piped.stdout)).toEqual({ items: [] });
  });

  it("a connector that is not running: one clawrelay: line and exit 1, on a terminal too", async () => {
    const gone = ["status", "--port", String(await deadPort())];
    const human = await runInPty(gone, NO_COLOR);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^clawrelay: [^\n]+\n$/);
    const piped = await runCli(gone);
    expect(piped.code).toBe(1);
    expect(piped.stdout).toBe("");
    expect(piped.stderr).toMatch(/^clawrelay: [^\n]+\n$/);
  });
});

/** Resolves with the output once `done` says so; the test's timeout is the bound. */
function outputUntil(child: ChildProcess, done: (output: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8").replaceAll("\r\n", "\n");
      if (done(output)) resolve(output);
    });
    child.once("close", (code) => reject(new Error(`exited ${code} before the expected output:\n${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const closed = new Promise((resolve) => child.once("close", resolve));
  child.kill("SIGTERM");
  await closed;
}

describe("connector start logs", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  /** A config for alice-agent on a free port, its relay and hook refusing connections. */
  async function startConfig(name: string): Promise<string> {
    const config = join(home.path, `${name}.json`);
    const relay = `http://127.0.0.1:${await deadPort()}`;
    const args = ["--home", home.path, "connector", "init", "--agent", agentDir("alice-agent")];
    const port = String(await deadPort());
    const run = await runCli([
      ...args,
      "--hook",
      "http://127.0.0.1:9/hook",
      "--relay",
      relay,
      "--port",
      port,
      "--out",
      config,
    ]);
    expect(run.code, run.stderr).toBe(0);
    return config;
  }

  const started = (output: string) => output.includes("connector_started");

  it("readable lines on a terminal; JSON lines through a pipe and with --json", async () => {
    const human = spawnInPty(["connector", "start", "--config", await startConfig("start-tty")], NO_COLOR);
    const text = await outputUntil(human, started);
    await stop(human);
    const first = text.split("\n")[0] ?? "";
    expect(isJson(first)).toBe(false);
    expect(first.split(/\s+/).slice(1, 3)).toEqual(["INFO", "connector_started"]);
    expect(first).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} /);
    expect(first).toContain("agentId=alice-agent");

    const config = await startConfig("start-pipe");
    const piped = spawn(process.execPath, [CLI, "connector", "start", "--config", config], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const json = await outputUntil(piped, started);
    await stop(piped);
    expect(JSON.parse(json.split("\n")[0] ?? "")).toMatchObject({ event: "connector_started", agentId: "alice-agent" });

    const forced = spawnInPty(["connector", "start", "--config", config, "--json"], NO_COLOR);
    const forcedText = await outputUntil(forced, started);
    await stop(forced);
    expect(JSON.parse(forcedText.split("\n")[0] ?? "")).toMatchObject({ event: "connector_started" });
  });
});
