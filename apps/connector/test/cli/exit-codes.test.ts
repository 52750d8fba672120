import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { action } from "../../src/cli/command-kit.js";
import { CliError, EXIT } from "../../src/cli/errors.js";
import { ConfigError } from "../../src/daemon/config.js";
import { tempDir } from "../daemon/helpers/common.js";
import { startTestConnector } from "../daemon/helpers/connector.js";
import { deadPort, FakeRelay } from "../daemon/helpers/fake-relay.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, expectCleanFailure, runCli } from "./helpers/run-cli.js";

// Exit status: 0 done, 1 the connector or relay said no, could not be reached or a file it needs
// is broken, 2 bad arguments; every failure one `clawrelay: …` line, never a stack.

describe("action(): the exit code of a failure", () => {
  let stderr: string[] = [];
  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  async function exitOf(error: unknown): Promise<number | string | null | undefined> {
    const program = new Command().exitOverride();
    program.command("fails").action(
      action(async () => {
        throw error;
      }),
    );
    await program.parseAsync(["node", "clawrelay", "fails"]);
    return process.exitCode;
  }

  it("a CliError keeps its own code: 2 for bad arguments, 1 when it says so", async () => {
    expect(await exitOf(new CliError("--x must be a number"))).toBe(EXIT.usage);
    expect(await exitOf(new CliError("the relay refused", EXIT.failed))).toBe(EXIT.failed);
  });

  it("anything else is 1, on one line: a runtime error, a config's problems joined", async () => {
    expect(await exitOf(new Error("no connector answering"))).toBe(EXIT.failed);
    expect(await exitOf(new ConfigError(["listen.port: too big", "hookUrl: not a URL"]))).toBe(EXIT.failed);
    expect(await exitOf(new Error("first\n  second"))).toBe(EXIT.failed);
    for (const line of stderr) expect(line).toMatch(/^clawrelay: [^\n]+\n$/);
    expect(stderr).toHaveLength(3);
  });
});

describe("bad input to the real CLI", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let dir: string;
  let configFor: (dataDir: string) => string;

  beforeAll(async () => {
    cliBuilt();
    const temp = tempDir("clawrelay-exit-");
    cleanups.push(temp.remove);
    dir = temp.path;
    const relay = await new FakeRelay().start();
    cleanups.push(() => relay.close());
    const dataDir = join(dir, "running");
    mkdirSync(dataDir);
    const { connector } = await startTestConnector({
      dataDir,
      relayUrls: [relay.url],
      hookUrl: `http://127.0.0.1:${await deadPort()}/hook`,
    });
    cleanups.push(() => connector.close());
    let count = 0;
    /** A valid config for the running connector, its token read from `dataDir`. */
    configFor = (tokenDir: string) => {
      const path = join(dir, `config-${++count}.json`);
      const config = {
        agentId: "bob-agent",
        identityDir: dir,
        relayUrls: [relay.url],
        dataDir: tokenDir,
        listen: { host: "127.0.0.1", port: connector.port },
        hookUrl: "http://127.0.0.1:9/hook",
      };
      writeFileSync(path, JSON.stringify(config));
      return path;
    };
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("connector start and send with a config that is not JSON: 1", async () => {
    const broken = join(dir, "broken.json");
    writeFileSync(broken, "{ not json");
    const start = await runCli(["connector", "start", "--config", broken]);
    expect(start.code).toBe(1);
    expectCleanFailure(start);
    const send = await runCli(["send", "carol-agent", "1", "--config", broken]);
    expect(send.code).toBe(1);
    expectCleanFailure(send);
  });

  it("an API token file that is a directory: 1", async () => {
    const tokenDir = join(dir, "token-is-a-directory");
    mkdirSync(join(tokenDir, "api-token"), { recursive: true, mode: 0o700 });
    const run = await runCli(["status", "--config", configFor(tokenDir)]);
    expect(run.code).toBe(1);
    expectCleanFailure(run);
  });

  // root reads a mode 000 file all the same: there is nothing unreadable to test as root.
  it.skipIf(process.getuid?.() === 0)("an API token file nobody may read (mode 000): 1", async () => {
    const tokenDir = join(dir, "token-mode-000");
    mkdirSync(tokenDir, { mode: 0o700 });
    writeFileSync(join(tokenDir, "api-token"), "t".repeat(43), { mode: 0o600 });
    chmodSync(join(tokenDir, "api-token"), 0o000);
    const run = await runCli(["status", "--config", configFor(tokenDir)]);
    expect(run.code).toBe(1);
    expectCleanFailure(run);
  });

  it("send and dead-letters to a connector that is not running: 1", async () => {
    const port = String(await deadPort());
    for (const args of [
      ["send", "carol-agent", "1", "--port", port],
      ["dead-letters", "--replay", "--port", port],
    ]) {
      const run = await runCli(args);
      expect(run.code, args.join(" ")).toBe(1);
      expectCleanFailure(run);
    }
  });

  it("bad arguments: 2 (a --port out of range, --wait-timeout without --wait)", async () => {
    const home = join(dir, "home");
    const port = await runCli(["--home", home, "connector", "init", "--agent", dir, "--hook", "x", "--port", "0"]);
    expect(port.code).toBe(2);
    const wait = await runCli(["send", "carol-agent", "1", "--wait-timeout", "5", "--port", "1"]);
    expect(wait.code).toBe(2);
    expectCleanFailure(wait);
  });

  it("connector init for a directory holding no identity: 2, one line", async () => {
    const empty = join(dir, "no-identity");
    mkdirSync(empty);
    const run = await runCli(["--home", join(dir, "home"), "connector", "init", "--agent", empty, "--hook", "x"]);
    expect(run.code).toBe(2);
    expectCleanFailure(run);
  });
});
