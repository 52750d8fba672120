import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../daemon/helpers/common.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, expectCleanFailure, runCli } from "./helpers/run-cli.js";

// The CLI refuses a private key open to other users the way ssh does: exit 2, one line naming
// the file and `chmod 600 <file>`, nothing written.
let home: ReturnType<typeof tempDir>;
const cli = (...args: string[]) => runCli(["--home", home.path, ...args]);
const registryKey = () => join(home.path, "registry", "registry.private.jwk.json");
const agentKey = () => join(home.path, "agents", "alice-agent", "agent.private.jwk.json");
const tokenFile = () => join(home.path, "agents", "alice-agent", "identity.jwt");

beforeAll(async () => {
  cliBuilt();
  home = tempDir("clawrelay-loose-");
  expect((await cli("registry", "init", "--iss", "test-registry")).code).toBe(0);
  expect((await cli("agent", "create", "alice-agent", "--relay", "https://relay.example.com")).code).toBe(0);
}, CLI_TEST_TIMEOUT_MS);
afterAll(() => home.remove());

describe("loose key files", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("a group-readable registry key: agent token exits 2 naming the file and the fix", async () => {
    const before = readFileSync(tokenFile(), "utf8");
    chmodSync(registryKey(), 0o640);
    const run = await cli("agent", "token", "alice-agent");
    expect(run.code).toBe(2);
    expectCleanFailure(run, [JSON.parse(readFileSync(registryKey(), "utf8")).d]);
    expect(run.stderr).toContain(`chmod 600 ${registryKey()}`);
    expect(readFileSync(tokenFile(), "utf8")).toBe(before);
    chmodSync(registryKey(), 0o600);
    expect((await cli("agent", "token", "alice-agent")).code).toBe(0);
  });

  it("a world-readable agent key: agent token and request refuse it", async () => {
    chmodSync(agentKey(), 0o644);
    for (const args of [
      ["agent", "token", "alice-agent"],
      ["request", "GET", "https://relay.example.com/v1/agents/alice-agent/status", "--agent", "alice-agent"],
    ]) {
      const run = await cli(...args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr).toContain(`chmod 600 ${agentKey()}`);
    }
    chmodSync(agentKey(), 0o600);
  });
});
