import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createAgent } from "../../src/cli/agent-identity.js";
import { initRegistry, loadRegistry } from "../../src/cli/registry-files.js";
import { parseConnectorConfig } from "../../src/daemon/config.js";
import { startConnector } from "../../src/daemon/daemon.js";
import { TokenExpiryWatch } from "../../src/daemon/token-expiry.js";
import { ManualClock } from "./helpers/clock.js";
import { captureLogger, tempDir } from "./helpers/common.js";
import { deadPort } from "./helpers/fake-relay.js";

// The connector warns before its identity token runs out (7 days ahead by default): a warn log
// line identity_token_expiring, the fields in /v1/status, tokenExpiresAt for the health frame.
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WARN = 40;
const ERROR = 50;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function watch(expiresAt: number | null, clock: ManualClock) {
  const logs = captureLogger();
  const watcher = new TokenExpiryWatch({
    expiresAt,
    warnBeforeMs: 7 * DAY,
    agentId: "bob-agent",
    clock,
    logger: logs.logger,
  });
  cleanups.push(() => watcher.stop());
  const lines = (event: string) => logs.lines.filter((line) => line.event === event);
  return { watcher, lines };
}

describe("identity token expiry", () => {
  it("warns on entering the 7-day window, then once a day, and reports the expiry once", () => {
    const clock = new ManualClock();
    const expiresAt = clock.now() + 10 * DAY;
    const { watcher, lines } = watch(expiresAt, clock);
    watcher.start();
    expect(lines("identity_token_expiring")).toHaveLength(0);
    expect(watcher.status()).toEqual({ tokenExpiresAt: expiresAt, tokenExpiring: false, tokenExpired: false });

    clock.advance(3 * DAY - 1);
    expect(lines("identity_token_expiring")).toHaveLength(0);
    clock.advance(1);
    expect(lines("identity_token_expiring")).toMatchObject([
      { level: WARN, agentId: "bob-agent", expiresInMs: 7 * DAY },
    ]);
    expect(watcher.status()).toMatchObject({ tokenExpiring: true, tokenExpired: false });

    clock.advance(23 * HOUR);
    expect(lines("identity_token_expiring")).toHaveLength(1);
    clock.advance(HOUR);
    expect(lines("identity_token_expiring")).toHaveLength(2);

    clock.advance(6 * DAY);
    expect(lines("identity_token_expired")).toMatchObject([{ level: ERROR }]);
    expect(watcher.status()).toMatchObject({ tokenExpiring: true, tokenExpired: true });
    clock.advance(3 * DAY);
    expect(lines("identity_token_expired")).toHaveLength(1);
    expect(clock.pendingDelays()).toEqual([]);
  });

  it("a token already inside the window warns at start; an unknown expiry never warns", () => {
    const clock = new ManualClock();
    const soon = watch(clock.now() + 2 * DAY, clock);
    soon.watcher.start();
    expect(soon.lines("identity_token_expiring")).toHaveLength(1);
    const unknown = watch(null, clock);
    unknown.watcher.start();
    clock.advance(100 * DAY);
    expect(unknown.lines("identity_token_expiring")).toHaveLength(0);
    expect(unknown.watcher.status()).toEqual({ tokenExpiresAt: null, tokenExpiring: false, tokenExpired: false });
  });

  it("the daemon reads exp from the identity it loads: warning, /v1/status fields and tokenExpiresAt", async () => {
    const root = tempDir("clawrelay-expiry-");
    cleanups.push(root.remove);
    const registryDir = join(root.path, "registry");
    const agentDir = join(root.path, "bob-agent");
    await initRegistry({ dir: registryDir, iss: "test-registry", kid: "k1", force: false });
    const spec = {
      id: "bob-agent",
      relay: "https://relay.example.com",
      audience: "clawrelay",
      lifetimeSeconds: 8 * 86_400,
    };
    const summary = await createAgent({ dir: agentDir, registry: await loadRegistry(registryDir), spec, force: false });
    const expiresAt = Date.parse(summary.expiresAt);

    const clock = new ManualClock(Date.now());
    const logs = captureLogger();
    const config = parseConnectorConfig({
      agentId: "bob-agent",
      identityDir: agentDir,
      relayUrls: [`http://127.0.0.1:${await deadPort()}`],
      dataDir: join(root.path, "data"),
      listen: { host: "127.0.0.1", port: 0 },
      hookUrl: "http://127.0.0.1:9/hook",
    });
    const connector = await startConnector(config, { clock, logger: logs.logger });
    cleanups.push(() => connector.close());
    expect(connector.tokenExpiresAt).toBe(expiresAt);
    expect(connector.status().identity).toEqual({
      tokenExpiresAt: expiresAt,
      tokenExpiring: false,
      tokenExpired: false,
    });
    expect(logs.events()).not.toContain("identity_token_expiring");

    clock.advance(expiresAt - 7 * DAY - clock.now());
    expect(logs.lines.filter((line) => line.event === "identity_token_expiring")).toMatchObject([
      { level: WARN, agentId: "bob-agent" },
    ]);
    expect(connector.status().identity).toMatchObject({ tokenExpiring: true, tokenExpired: false });
  });
});
