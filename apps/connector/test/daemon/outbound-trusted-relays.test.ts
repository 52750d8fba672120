import { afterEach, describe, expect, it } from "vitest";
import { Store } from "../../src/daemon/store.js";
import { eventually, tempDir } from "./helpers/common.js";
import { postJson, startTestConnector, type TestConnector } from "./helpers/connector.js";
import { FakeRelay } from "./helpers/fake-relay.js";
import { HookServer } from "./helpers/hook-server.js";
import { TEST_STORE_OPTIONS } from "./helpers/store.js";

// A signed request carries the identity token: it goes only to the connector's own relays and
// its trustedRelays, never to a toRelay any local caller names (PROTOCOL.md §8, SECURITY.md).
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function environment() {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const relays = await Promise.all([new FakeRelay().start(), new FakeRelay().start(), new FakeRelay().start()]);
  for (const relay of relays) cleanups.push(() => relay.close());
  const hook = await new HookServer().start();
  cleanups.push(() => hook.close());
  const [home, trusted, planted] = relays as [FakeRelay, FakeRelay, FakeRelay];
  return { dir: dir.path, home, trusted, planted, hook };
}

async function start(...args: Parameters<typeof startTestConnector>): Promise<TestConnector> {
  const started = await startTestConnector(...args);
  cleanups.push(() => started.connector.close());
  return started;
}

describe("outbound: toRelay", () => {
  it("outside relayUrls and trustedRelays: 400 invalid_request, nothing stored, nothing sent", async () => {
    const { dir, home, trusted, planted, hook } = await environment();
    const { api, connector } = await start({
      dataDir: dir,
      relayUrls: [home.url],
      trustedRelays: [`${trusted.url}/`],
      hookUrl: hook.url(),
    });
    const refused = await api("/v1/outbound", postJson({ to: "carol-agent", toRelay: planted.url, payload: 1 }));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: { code: "invalid_request" } });
    expect(connector.store.counts().outbox).toEqual({ queued: 0, sending: 0, sent: 0, failed: 0 });

    // A trusted relay and the home relay are sent to: the planted one saw nothing all along.
    const viaTrusted = await api("/v1/outbound", postJson({ to: "carol-agent", toRelay: trusted.url, payload: 2 }));
    expect(viaTrusted.status).toBe(202);
    const viaHome = await api("/v1/outbound", postJson({ to: "dave-agent", toRelay: home.url, payload: 3 }));
    expect(viaHome.status).toBe(202);
    await trusted.requests.waitFor((request) => request.method === "POST");
    await home.requests.waitFor((request) => request.method === "POST" && request.path.includes("dave-agent"));
    expect(planted.requests.items).toHaveLength(0);
  });

  it("a row stored for a relay no longer trusted fails locally (untrusted_relay) and is never sent", async () => {
    const { dir, home, planted, hook } = await environment();
    const store = Store.open(dir, TEST_STORE_OPTIONS);
    const now = Date.now();
    store.outbox.enqueue(
      {
        outboundId: "01OLDROW000000000000000001",
        to: "carol-agent",
        toRelay: planted.url,
        body: '{"payload":1}',
        priority: "normal",
        idempotencyKey: "ob-01OLDROW000000000000000001",
        correlationId: "corr-old-row-0001",
        expiresAt: now + 3_600_000,
      },
      now,
    );
    store.close();
    const { api } = await start({ dataDir: dir, relayUrls: [home.url], hookUrl: hook.url() });
    const record = await eventually(
      async () => (await api("/v1/outbound/01OLDROW000000000000000001")).body as Record<string, unknown>,
      (body) => body.state === "failed",
      5_000,
      "the row failed",
    );
    expect(String(record.lastError)).toMatch(/^untrusted_relay/);
    expect(record.receipts).toMatchObject([{ status: "failed" }]);
    expect(planted.requests.items).toHaveLength(0);
  });
});
