import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONNECTOR_DEFAULTS } from "@clawrelay/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../daemon/helpers/common.js";
import { hasScript, runInPty } from "./helpers/pty.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, runCli } from "./helpers/run-cli.js";

// `connector init` without --port: two agents on one machine get two ports, so both connectors start.
const FIRST = CONNECTOR_DEFAULTS.listenPort;
let home: ReturnType<typeof tempDir>;
const cli = (...args: string[]) => runCli(["--home", home.path, ...args]);
const agentDir = (id: string) => join(home.path, "agents", id);
const portOf = (id: string) =>
  (JSON.parse(readFileSync(join(agentDir(id), "connector.json"), "utf8")) as { listen: { port: number } }).listen.port;
const init = (id: string, ...extra: string[]) => [
  "--home",
  home.path,
  "connector",
  "init",
  "--agent",
  agentDir(id),
  "--hook",
  "http://127.0.0.1:9/hook",
  ...extra,
];

beforeAll(async () => {
  cliBuilt();
  home = tempDir("clawrelay-init-port-");
  expect((await cli("registry", "init", "--iss", "test-registry")).code).toBe(0);
  for (const id of ["alice-agent", "bob-agent", "carol-agent"]) {
    expect((await cli("agent", "create", id, "--relay", "https://relay.example.com")).code).toBe(0);
  }
}, CLI_TEST_TIMEOUT_MS);
afterAll(() => home.remove());

describe("connector init picks a port no other agent's connector uses", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("the first agent gets 19400, the second the next one, and is told why", async () => {
    const alice = await runCli(init("alice-agent"));
    expect(alice.code, alice.stderr).toBe(0);
    expect(portOf("alice-agent")).toBe(FIRST);
    expect(alice.stderr).toBe("");

    const bob = await runCli(init("bob-agent"));
    expect(bob.code, bob.stderr).toBe(0);
    expect(portOf("bob-agent")).toBe(FIRST + 1);
    // The JSON keeps its shape for scripts; the port and the reason go to stderr.
    expect(JSON.parse(bob.stdout)).toMatchObject({ agentId: "bob-agent" });
    expect(bob.stderr).toContain(String(FIRST + 1));
    expect(bob.stderr).toContain("alice-agent");
  });

  it("a re-init keeps clear of the others but not of itself; --port is taken as given", async () => {
    const again = await runCli(init("alice-agent", "--force"));
    expect(again.code, again.stderr).toBe(0);
    expect(portOf("alice-agent")).toBe(FIRST);

    const given = await runCli(init("carol-agent", "--port", String(FIRST)));
    expect(given.code, given.stderr).toBe(0);
    expect(portOf("carol-agent")).toBe(FIRST);
  });

  it("a broken connector.json of another agent holds no port; on a terminal the port is in the summary", async () => {
    expect(hasScript(), "util-linux `script` is needed for the terminal test").toBe(true);
    writeFileSync(join(agentDir("carol-agent"), "connector.json"), "{ not json");
    writeFileSync(
      join(agentDir("bob-agent"), "connector.json"),
      JSON.stringify({ listen: { host: "127.0.0.1", port: FIRST + 2 } }),
    );
    const human = await runInPty([...init("alice-agent", "--force")], { NO_COLOR: "1" });
    expect(human.code, human.stdout).toBe(0);
    expect(portOf("alice-agent")).toBe(FIRST);
    const carol = await runInPty([...init("carol-agent", "--force")], { NO_COLOR: "1" });
    expect(carol.code, carol.stdout).toBe(0);
    expect(portOf("carol-agent")).toBe(FIRST + 1);
    const apiLine = carol.stdout.split("\n").find((line) => line.trim().startsWith("local API"));
    expect(apiLine).toContain(`http://127.0.0.1:${FIRST + 1}`);
  });
});
