import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createAgent } from "../../src/cli/agent-identity.js";
import { AGENT_FILES, loadAgentIdentity } from "../../src/cli/identity-files.js";
import { initRegistry, loadRegistry, REGISTRY_FILES } from "../../src/cli/registry-files.js";
import { readApiToken } from "../../src/daemon/api-token.js";
import { loadConnectorConfig, parseConnectorConfig } from "../../src/daemon/config.js";
import { startConnector } from "../../src/daemon/daemon.js";
import { captureLogger, tempDir } from "./helpers/common.js";
import { deadPort } from "./helpers/fake-relay.js";

// Secret files open to group or others are refused on load, like ssh refuses such a key, with
// the file and the fix named (SECURITY.md). Real files, real modes.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function scratch(): string {
  const dir = tempDir("clawrelay-secrets-");
  cleanups.push(dir.remove);
  return dir.path;
}

async function agentIdentity(root: string): Promise<{ registryDir: string; agentDir: string }> {
  const registryDir = join(root, "registry");
  const agentDir = join(root, "agents", "bob-agent");
  await initRegistry({ dir: registryDir, iss: "test-registry", kid: "test-registry-k1", force: false });
  const registry = await loadRegistry(registryDir);
  const spec = { id: "bob-agent", relay: "https://relay.example.com", audience: "clawrelay", lifetimeSeconds: 86_400 };
  await createAgent({ dir: agentDir, registry, spec, force: false });
  return { registryDir, agentDir };
}

const fix = (path: string) => `chmod 600 ${path}`;

describe("secret files with loose permissions", () => {
  for (const mode of [0o640, 0o604, 0o644]) {
    it(`the agent private key at ${mode.toString(8)}: refused by the loader and by connector start`, async () => {
      const { agentDir } = await agentIdentity(scratch());
      const key = join(agentDir, AGENT_FILES.privateJwk);
      chmodSync(key, mode);
      await expect(loadAgentIdentity(agentDir)).rejects.toThrow(fix(key));
      const config = {
        agentId: "bob-agent",
        identityDir: agentDir,
        relayUrls: [`http://127.0.0.1:${await deadPort()}`],
        dataDir: join(agentDir, "data"),
        listen: { host: "127.0.0.1", port: 0 },
        hookUrl: "http://127.0.0.1:9/hook",
      };
      const logs = captureLogger();
      await expect(startConnector(parseConnectorConfig(config), { logger: logs.logger })).rejects.toThrow(fix(key));
      chmodSync(key, 0o600);
      expect((await loadAgentIdentity(agentDir)).id).toBe("bob-agent");
    });
  }

  it("the registry private key: refused by loadRegistry", async () => {
    const { registryDir } = await agentIdentity(scratch());
    const key = join(registryDir, REGISTRY_FILES.privateJwk);
    chmodSync(key, 0o660);
    await expect(loadRegistry(registryDir)).rejects.toThrow(fix(key));
    chmodSync(key, 0o400);
    expect((await loadRegistry(registryDir)).iss).toBe("test-registry");
  });

  it("the API token file: loose_permissions, from the daemon's and the CLI's reader alike", () => {
    const dir = scratch();
    const file = join(dir, "api-token");
    writeFileSync(file, "a-token-of-twenty-characters\n", { mode: 0o600 });
    expect(readApiToken(dir)).toBe("a-token-of-twenty-characters");
    chmodSync(file, 0o620);
    expect(() => readApiToken(dir)).toThrow(expect.objectContaining({ code: "loose_permissions", path: file }));
    expect(() => readApiToken(dir)).toThrow(fix(file));
  });

  it("a config file that holds a hookSecret must be private; one without a secret need not be", async () => {
    const dir = scratch();
    const path = join(dir, "connector.json");
    const base = {
      agentId: "bob-agent",
      identityDir: dir,
      relayUrls: ["https://relay.example.com"],
      dataDir: join(dir, "data"),
      hookUrl: "http://127.0.0.1:9/hook",
    };
    writeFileSync(path, JSON.stringify(base), { mode: 0o644 });
    chmodSync(path, 0o644);
    expect((await loadConnectorConfig(path, {})).agentId).toBe("bob-agent");
    const hookSecret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
    writeFileSync(path, JSON.stringify({ ...base, hookSecret }));
    await expect(loadConnectorConfig(path, {})).rejects.toMatchObject({ code: "loose_permissions", path });
    chmodSync(path, 0o600);
    expect((await loadConnectorConfig(path, {})).hookSecret).toBe(hookSecret);
  });
});
