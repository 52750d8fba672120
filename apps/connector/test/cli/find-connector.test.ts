import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { registerClientCommands } from "../../src/cli/client-commands.js";
import { tempDir } from "../daemon/helpers/common.js";
import { startTestConnector } from "../daemon/helpers/connector.js";
import { FakeRelay } from "../daemon/helpers/fake-relay.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, expectCleanFailure, runCli } from "./helpers/run-cli.js";

const cleanups: (() => Promise<void> | void)[] = [];
const perTest: (() => Promise<void> | void)[] = [];
let stdout: string[] = [];

/** Two agents in one home, each with its own running connector on its own port, as `connector init` lays them out. */
let home: string;
const configOf = (id: string) => join(home, "agents", id, "connector.json");

async function agentWithConnector(id: string, relayUrl: string): Promise<void> {
  const dataDir = join(home, "agents", id, "connector-data");
  mkdirSync(dataDir, { recursive: true });
  const { connector } = await startTestConnector({
    agentId: id,
    dataDir,
    relayUrls: [relayUrl],
    hookUrl: "http://127.0.0.1:9/hook",
  });
  cleanups.push(() => connector.close());
  const config = {
    agentId: id,
    identityDir: join(home, "agents", id),
    relayUrls: [relayUrl],
    dataDir,
    listen: { host: "127.0.0.1", port: connector.port },
    hookUrl: "http://127.0.0.1:9/hook",
  };
  writeFileSync(configOf(id), JSON.stringify(config));
}

beforeAll(async () => {
  cliBuilt();
  const dir = tempDir();
  cleanups.push(dir.remove);
  home = dir.path;
  const relay = await new FakeRelay().start();
  cleanups.push(() => relay.close());
  await agentWithConnector("alice-agent", relay.url);
  await agentWithConnector("bob-agent", relay.url);
  // An identity without a connector config, as `agent create` leaves it.
  mkdirSync(join(home, "agents", "carol-agent"));
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

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
  for (const cleanup of perTest.splice(0).reverse()) await cleanup();
});

/** `clawrelay --home <home> <args>` in this process (the real commands, the real connectors). */
async function run(args: string[], homeDir = home): Promise<void> {
  const program = new Command().exitOverride().option("--home <dir>");
  registerClientCommands(program);
  await program.parseAsync(["node", "clawrelay", "--home", homeDir, ...args]);
}

function answeredBy(): unknown {
  return (JSON.parse(stdout.join("")) as { agentId?: unknown }).agentId;
}

describe("finding the connector of an agent", () => {
  it("--agent reads that agent's connector.json: its port and its token", async () => {
    await run(["status", "--agent", "bob-agent"]);
    expect(process.exitCode).toBeUndefined();
    expect(answeredBy()).toBe("bob-agent");
    stdout = [];
    await run(["dead-letters", "--agent", "alice-agent"]);
    expect(process.exitCode).toBeUndefined();
    expect(JSON.parse(stdout.join(""))).toEqual({ items: [] });
  });

  it("CLAWRELAY_AGENT and CLAWRELAY_CONFIG choose one; a flag beats either", async () => {
    vi.stubEnv("CLAWRELAY_AGENT", "alice-agent");
    await run(["status"]);
    expect(answeredBy()).toBe("alice-agent");
    stdout = [];
    await run(["status", "--agent", "bob-agent"]);
    expect(answeredBy()).toBe("bob-agent");
    stdout = [];
    await run(["status", "--config", configOf("bob-agent")]);
    expect(answeredBy()).toBe("bob-agent");

    vi.stubEnv("CLAWRELAY_AGENT", "");
    vi.stubEnv("CLAWRELAY_CONFIG", configOf("bob-agent"));
    stdout = [];
    await run(["status"]);
    expect(answeredBy()).toBe("bob-agent");
    stdout = [];
    await run(["status", "--agent", "alice-agent"]);
    expect(answeredBy()).toBe("alice-agent");

    vi.stubEnv("CLAWRELAY_AGENT", "alice-agent");
    await expect(run(["status"])).rejects.toMatchObject({ exitCode: 2 });
  });

  it("with no choice made: the only agent with a connector, never a guess among several", async () => {
    await expect(run(["status"])).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining("bob-agent") });

    const single = tempDir();
    perTest.push(single.remove);
    mkdirSync(join(single.path, "agents", "bob-agent"), { recursive: true });
    writeFileSync(join(single.path, "agents", "bob-agent", "connector.json"), JSON.stringify(readConfig("bob-agent")));
    await run(["status"], single.path);
    expect(answeredBy()).toBe("bob-agent");

    // An address or token given by hand (flag or variable) is used as given.
    vi.stubEnv("CLAWRELAY_API_TOKEN", "not-the-token-000000");
    stdout = [];
    await run(["status", "--port", String(readConfig("alice-agent").listen.port)]);
    expect(process.exitCode).toBe(1);
    expect(JSON.parse(stdout.join(""))).toMatchObject({ error: { code: "invalid_token" } });
  });

  it("an unknown agent or one without a connector config fails (1); --agent with --config is a usage error (2)", async () => {
    await expect(run(["status", "--agent", "nobody-agent"])).rejects.toMatchObject({ exitCode: 1 });
    await expect(run(["status", "--agent", "carol-agent"])).rejects.toMatchObject({ exitCode: 1 });
    vi.stubEnv("CLAWRELAY_AGENT", "nobody-agent");
    await expect(run(["status"])).rejects.toMatchObject({ exitCode: 1 });
    await expect(run(["status", "--agent", "bob-agent", "--config", configOf("bob-agent")])).rejects.toMatchObject({
      exitCode: 2,
    });
    await expect(run(["status", "--agent", "Not An Id"])).rejects.toMatchObject({ exitCode: 2 });
  });
});

function readConfig(id: string): { listen: { port: number } } & Record<string, unknown> {
  return JSON.parse(readFileSync(configOf(id), "utf8"));
}

describe("the installed CLI: exit codes and one-line errors", () => {
  it(
    "CLAWRELAY_AGENT in a real process; unknown agent 1; --agent with --config 2; broken config and token file 1",
    async () => {
      const ok = await runCli(["--home", home, "status"], { CLAWRELAY_AGENT: "bob-agent" });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ agentId: "bob-agent" });

      const unknown = await runCli(["--home", home, "send", "bob-agent", "1", "--agent", "nobody-agent"]);
      expect(unknown.code).toBe(1);
      expectCleanFailure(unknown);

      const both = await runCli(["--home", home, "status", "--agent", "bob-agent", "--config", configOf("bob-agent")]);
      expect(both.code).toBe(2);
      expectCleanFailure(both);

      const broken = tempDir();
      perTest.push(broken.remove);
      const brokenConfig = join(broken.path, "connector.json");
      writeFileSync(brokenConfig, "{ not json");
      const badConfig = await runCli(["--home", home, "status"], { CLAWRELAY_CONFIG: brokenConfig });
      expect(badConfig.code).toBe(1);
      expectCleanFailure(badConfig);

      // A token file others can read is refused, by the CLI as by the daemon.
      const dataDir = join(broken.path, "data");
      mkdirSync(dataDir);
      writeFileSync(join(dataDir, "api-token"), "t".repeat(43));
      chmodSync(join(dataDir, "api-token"), 0o644);
      writeFileSync(brokenConfig, JSON.stringify({ ...readConfig("bob-agent"), dataDir }));
      const badToken = await runCli(["--home", home, "status", "--config", brokenConfig]);
      expect(badToken.code).toBe(1);
      expectCleanFailure(badToken);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});
