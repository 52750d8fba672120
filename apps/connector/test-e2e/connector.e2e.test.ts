import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../../scripts/lib/connector.mjs";
import type { HookCall } from "../../../scripts/lib/hook.mjs";
import { LocalRelay } from "../../../scripts/lib/relay.mjs";
import { agentWithConnector as startAgent } from "./support/agents.js";

// Real `wrangler dev`, real connector processes, real SQLite and sockets; only the agents'
// webhooks are stand-ins. One relay for the file; each test uses its own agents.
let relay: LocalRelay;
/** The `n` a test put in a message payload; a call without one fails the test loudly. */
function payloadN(call: HookCall): number {
  const payload = call.body.item?.payload;
  const n = typeof payload === "object" && payload !== null ? (payload as { n?: unknown }).n : undefined;
  if (typeof n !== "number") throw new Error(`hook call without a numbered payload: ${JSON.stringify(call.body)}`);
  return n;
}

const cleanup: (() => Promise<unknown>)[] = [];
const scratch = mkdtempSync(join(tmpdir(), "clawrelay-e2e-data-"));
let serial = 0;

function agentWithConnector(id: string, options: { connectorId?: string; extra?: Record<string, unknown> } = {}) {
  return startAgent(relay, cleanup, { id, dataDir: join(scratch, `${id}-${++serial}`), ...options });
}

async function relayStatus(agentId: string) {
  const res = await relay.admin("GET", `/v1/agents/${agentId}/status`);
  return (await res.json()) as {
    connections: { connectorId: string; role: string }[];
    queue: { items: number; lanes: Record<string, { items: number }> };
  };
}

beforeAll(async () => {
  relay = await LocalRelay.start();
});

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await relay?.stop();
});

describe("connector ↔ relay, end to end", () => {
  it("a message sent through alice's local API reaches bob's webhook once, with its correlation id", async () => {
    const alice = await agentWithConnector("alice-e2e1");
    const bob = await agentWithConnector("bob-e2e1");
    const sent = await alice.connector.send("bob-e2e1", { hello: "bob" }, { correlationId: "corr-e2e-once-001" });
    expect(sent.status).toBe(202);
    await bob.hook.waitFor((h) => h.messages().length >= 1, 30_000, "bob's message");
    const [call] = bob.hook.messages();
    expect(call?.body.item).toMatchObject({
      from: "alice-e2e1",
      payload: { hello: "bob" },
      correlationId: "corr-e2e-once-001",
    });
    expect(call?.headers["x-claw-correlation-id"]).toBe("corr-e2e-once-001");
    // Still once after the relay and connector had time to redeliver.
    await new Promise((r) => setTimeout(r, 1500));
    expect(bob.hook.messages()).toHaveLength(1);
    const outbound = await alice.connector.api<{ state: string; messageId?: string }>(
      "GET",
      `/v1/outbound/${sent.json.outboundId}`,
    );
    expect(outbound.json.state).toBe("sent");
  });

  it("bob offline → messages queue → bob back → the handshake counts match and everything arrives in lane order", async () => {
    const alice = await agentWithConnector("alice-e2e2");
    const bob = await agentWithConnector("bob-e2e2");
    await waitUntil(async () => bob.connector.events("link_connected").length > 0, 30_000, "bob linked");
    await bob.connector.stop();
    await waitUntil(async () => (await relayStatus("bob-e2e2")).connections.length === 0, 10_000, "bob disconnected");
    const plan = ["low", "normal", "critical", "low", "normal", "critical", "normal"] as const;
    for (const [i, priority] of plan.entries()) {
      expect((await alice.connector.send("bob-e2e2", { n: i }, { priority })).status).toBe(202);
    }
    await waitUntil(
      async () => (await relayStatus("bob-e2e2")).queue.items === plan.length,
      30_000,
      "all queued at the relay",
    );
    await bob.connector.start();
    await bob.hook.waitFor((h) => h.messages().length >= plan.length, 30_000, "bob's backlog");
    const connected = bob.connector.events("link_connected").at(-1);
    expect(connected).toMatchObject({ queuedCount: 7, lanes: { critical: 2, normal: 3, low: 2 }, expiredCount: 0 });
    const order = bob.hook.messages().map((c) => c.body.item?.priority);
    expect(order).toEqual(["critical", "critical", "normal", "normal", "normal", "low", "low"]);
    const ns = bob.hook.messages().map(payloadN);
    expect(ns).toEqual([2, 5, 1, 4, 6, 0, 3]);
  });

  it("relay stopped → alice's outbox keeps accepting → relay back → everything delivered once", async () => {
    const alice = await agentWithConnector("alice-e2e3", { extra: { outboxBackoffMaxMs: 2000, reconnectMaxMs: 2000 } });
    const bob = await agentWithConnector("bob-e2e3", { extra: { reconnectMaxMs: 2000 } });
    // Bob must have linked once, so the relay knows him: a send to an agent the relay never saw
    // is 404 unknown_recipient, which ends it (a started connector may not have linked yet).
    await waitUntil(async () => bob.connector.events("link_connected").length > 0, 30_000, "bob linked");
    await relay.stop();
    for (let i = 0; i < 5; i++) expect((await alice.connector.send("bob-e2e3", { n: i })).status).toBe(202);
    await relay.restart();
    await bob.hook.waitFor((h) => h.messages().length >= 5, 60_000, "bob's messages after the outage");
    await new Promise((r) => setTimeout(r, 1500));
    const ns = bob.hook
      .messages()
      .map(payloadN)
      .sort((a, b) => a - b);
    expect(ns).toEqual([0, 1, 2, 3, 4]);
  });

  it("webhook failing → the hook breaker opens, items wait in the inbox, then all arrive", async () => {
    const alice = await agentWithConnector("alice-e2e4");
    const bob = await agentWithConnector("bob-e2e4", {
      extra: { hookBreakerOpenMs: 2000, hookBackoffBaseMs: 100, hookBackoffMaxMs: 500 },
    });
    bob.hook.mode = "fail";
    for (let i = 0; i < 6; i++) await alice.connector.send("bob-e2e4", { n: i });
    let waiting = 0;
    await waitUntil(
      async () => {
        const status = (await bob.connector.status()).json as {
          breakers: { hook: string };
          counts: { inboxPending: number };
        };
        waiting = status.counts.inboxPending;
        return status.breakers.hook === "open";
      },
      30_000,
      "bob's hook breaker to open",
    );
    // The socket kept taking items into the durable inbox while the hook was down.
    expect(waiting).toBeGreaterThan(0);
    expect(bob.hook.messages()).toHaveLength(0);
    bob.hook.mode = "ok";
    await bob.hook.waitFor((h) => h.messages().length >= 6, 60_000, "all six after recovery");
    const ns = new Set(bob.hook.messages().map(payloadN));
    expect(ns.size).toBe(6);
  });

  it("two connectors for bob → the standby is promoted within 2 s after the active one is SIGKILLed", async () => {
    const alice = await agentWithConnector("alice-e2e5");
    const active = await agentWithConnector("bob-e2e5", { connectorId: "bob-primary" });
    await waitUntil(
      async () => (await relayStatus("bob-e2e5")).connections.some((c) => c.role === "active"),
      10_000,
      "active",
    );
    const standby = await agentWithConnector("bob-e2e5", { connectorId: "bob-backup" });
    await waitUntil(async () => (await relayStatus("bob-e2e5")).connections.length === 2, 10_000, "standby connected");
    const killedAt = Date.now();
    await active.connector.kill();
    await waitUntil(
      async () =>
        (await relayStatus("bob-e2e5")).connections.some((c) => c.connectorId === "bob-backup" && c.role === "active"),
      5_000,
      "the standby promoted",
      50,
    );
    expect(Date.now() - killedAt).toBeLessThan(2000);
    await alice.connector.send("bob-e2e5", { after: "failover" });
    await standby.hook.waitFor((h) => h.messages().length >= 1, 30_000, "delivery through the promoted standby");
  });
});
