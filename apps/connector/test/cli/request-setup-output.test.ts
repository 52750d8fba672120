import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../daemon/helpers/common.js";
import { hasScript, runInPty } from "./helpers/pty.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, runCli } from "./helpers/run-cli.js";

// `request` and `openclaw setup` as the other commands: readable on a terminal, JSON through a
// pipe and with --json.
const NO_COLOR = { NO_COLOR: "1" };
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for colour escape sequences
const ESCAPE = /\u001b\[/;
const PLUGIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../openclaw-plugin");

let home: ReturnType<typeof tempDir>;
let server: Server;
let origin: string;
const lines = (text: string) => text.split("\n").map((line) => line.trim());

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  expect(hasScript(), "util-linux `script` is needed for the terminal tests").toBe(true);
  cliBuilt();
  home = tempDir("clawrelay-output-");
  const cli = (...args: string[]) => runCli(["--home", home.path, ...args]);
  expect((await cli("registry", "init", "--iss", "test-registry")).code).toBe(0);
  expect((await cli("agent", "create", "alice-agent", "--relay", "https://relay.example.com")).code).toBe(0);
  server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const missing = request.url === "/missing";
      response.writeHead(missing ? 404 : 200, { "content-type": "application/json" }).end('{"ok":true}');
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, CLI_TEST_TIMEOUT_MS);
afterAll(async () => {
  await new Promise((done) => server.close(done));
  home.remove();
});

describe("clawrelay request", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const request = (path: string, ...extra: string[]) => [
    "--home",
    home.path,
    "request",
    "get",
    `${origin}${path}`,
    "--agent",
    "alice-agent",
    ...extra,
  ];

  it("a terminal gets the status with its reason, coloured unless NO_COLOR; a pipe and --json the bare status", async () => {
    const plain = await runInPty(request("/ok"), NO_COLOR);
    expect(plain.code, plain.stdout).toBe(0);
    expect(lines(plain.stdout)).toContain("HTTP 200 OK");
    expect(plain.stdout).not.toMatch(ESCAPE);

    const coloured = await runInPty(request("/missing"));
    expect(coloured.code).toBe(1);
    expect(coloured.stdout).toMatch(ESCAPE);

    const json = await runInPty(request("/ok", "--json"));
    expect(json.code, json.stdout).toBe(0);
    expect(lines(json.stdout)).toContain("HTTP 200");
    expect(json.stdout).not.toMatch(ESCAPE);

    const piped = await runCli(request("/missing"));
    expect(piped.code).toBe(1);
    expect(piped.stderr).toBe("HTTP 404\n");
    expect(JSON.parse(piped.stdout)).toEqual({ ok: true });
  });
});

describe("clawrelay openclaw setup", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  function setupArgs(name: string): string[] {
    const dir = join(home.path, name);
    mkdirSync(dir);
    const config = join(dir, "connector.json");
    const connector = {
      agentId: "alice-agent",
      identityDir: dir,
      relayUrls: ["https://relay.example.com"],
      dataDir: join(dir, "connector-data"),
      listen: { host: "127.0.0.1", port: 19_455 },
      hookUrl: "http://127.0.0.1:8080/hook",
    };
    writeFileSync(config, JSON.stringify(connector), { mode: 0o600 });
    return [
      "openclaw",
      "setup",
      "--config",
      config,
      "--gateway",
      "http://127.0.0.1:18789",
      "--openclaw-config",
      join(dir, "openclaw.json"),
      "--plugin-dir",
      PLUGIN_DIR,
    ];
  }

  it("the summary on a terminal; the result as JSON through a pipe and with --json, never the hooks token", async () => {
    const human = await runInPty(setupArgs("tty"), NO_COLOR);
    expect(human.code, human.stdout).toBe(0);
    expect(isJson(human.stdout)).toBe(false);
    expect(human.stdout).not.toMatch(ESCAPE);

    const piped = await runCli(setupArgs("pipe"));
    expect(piped.code, piped.stderr).toBe(0);
    const result = JSON.parse(piped.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      dryRun: false,
      hooksToken: "generated",
      connector: { written: true },
      openclaw: { written: true, created: true },
      nextSteps: expect.any(Array),
    });

    const json = await runInPty([...setupArgs("json"), "--dry-run", "--json"]);
    expect(json.code, json.stdout).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: true, connector: { written: false } });

    // The generated token is in the files written; none of the outputs shows it.
    const written = JSON.parse(readFileSync(join(home.path, "pipe", "openclaw.json"), "utf8")) as {
      hooks: { token: string };
    };
    for (const output of [human.stdout, piped.stdout, json.stdout]) expect(output).not.toContain(written.hooks.token);
  });
});
