import { chmodSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hookSecretKey } from "../../src/daemon/hook-signing.js";
import { tempDir } from "../daemon/helpers/common.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, runCli } from "./helpers/run-cli.js";

// `clawrelay connector init` writes a config that signs hook calls, and keeps it private.
let home: ReturnType<typeof tempDir>;
const cli = (...args: string[]) => runCli(["--home", home.path, ...args]);
const agentDir = () => join(home.path, "agents", "alice-agent");
const configPath = () => join(agentDir(), "connector.json");
const mode = (path: string) => statSync(path).mode & 0o777;

beforeAll(async () => {
  cliBuilt();
  home = tempDir("clawrelay-init-");
  expect((await cli("registry", "init", "--iss", "test-registry")).code).toBe(0);
  expect((await cli("agent", "create", "alice-agent", "--relay", "https://relay.example.com")).code).toBe(0);
}, CLI_TEST_TIMEOUT_MS);
afterAll(() => home.remove());

describe("clawrelay connector init", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("makes a hookSecret (whsec_, 32 random bytes) in a 0600 config, and never prints it", async () => {
    const run = await cli("connector", "init", "--agent", agentDir(), "--hook", "http://127.0.0.1:8080/hook");
    expect(run.code, run.stderr).toBe(0);
    const config = JSON.parse(readFileSync(configPath(), "utf8")) as { hookSecret: string };
    expect(hookSecretKey(config.hookSecret)?.length).toBe(32);
    expect(mode(configPath())).toBe(0o600);
    expect(run.stdout).not.toContain(config.hookSecret);
    expect(JSON.parse(run.stdout)).toMatchObject({ config: configPath(), hookSigned: true });
  });

  it("--force makes a new secret and leaves the file 0600 even when it was looser", async () => {
    const before = (JSON.parse(readFileSync(configPath(), "utf8")) as { hookSecret: string }).hookSecret;
    chmodSync(configPath(), 0o644);
    const run = await cli(
      "connector",
      "init",
      "--agent",
      agentDir(),
      "--hook",
      "http://127.0.0.1:8080/hook",
      "--force",
    );
    expect(run.code, run.stderr).toBe(0);
    const after = (JSON.parse(readFileSync(configPath(), "utf8")) as { hookSecret: string }).hookSecret;
    expect(after).not.toBe(before);
    expect(mode(configPath())).toBe(0o600);
  });
});
