import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { messageItem, receiptItem, waitUntil } from "./helpers/common.js";
import { startTestConnector, type TestConnector } from "./helpers/connector.js";
import type { FakeRelay, RelayConnection } from "./helpers/fake-relay.js";
import type { HookAnswer } from "./helpers/hook-server.js";
import { standIns } from "./helpers/stand-ins.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function environment(answer: () => HookAnswer = () => ({ status: 200 })) {
  return standIns(cleanups, answer);
}

async function start(...args: Parameters<typeof startTestConnector>): Promise<TestConnector> {
  const started = await startTestConnector(...args);
  cleanups.push(() => started.connector.close());
  return started;
}

async function connected(relay: FakeRelay, index = 0): Promise<RelayConnection> {
  const connection = await relay.connections.waitFor(() => true, index);
  await connection.frame("reconnect");
  connection.ack("active");
  return connection;
}

describe("connector daemon, end to end against a stand-in relay and agent", () => {
  it("acks only after the commit, delivers once to the hook and reports processed", async () => {
    const { dir, relay, hook } = await environment();
    const { connector } = await start({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url() });
    const connection = await connected(relay);
    const item = messageItem();
    const receipt = receiptItem();
    // A second connection only sees committed data: at the moment the ack arrives, both ids must be there.
    const reader = new Database(connector.store.path, { readonly: true });
    cleanups.push(() => {
      reader.close();
    });
    let committedWhenAcked = -1;
    connection.socket.on("message", (data) => {
      if (String(data).includes('"type":"ack"')) {
        const row = reader.prepare("SELECT COUNT(*) AS n FROM seen WHERE id IN (?, ?)").get(item.id, receipt.id);
        committedWhenAcked = (row as { n: number }).n;
      }
    });
    connection.send({ type: "deliver", items: [item, receipt] });
    expect(await connection.frame("ack")).toEqual({ type: "ack", ids: [item.id, receipt.id] });
    expect(committedWhenAcked).toBe(2);
    expect(await connection.frame("processed")).toEqual({ type: "processed", id: item.id, outcome: "processed" });

    // A redelivery (the relay never saw our ack) is acked again and not delivered twice.
    const acksBefore = connection.received.items.length;
    connection.send({ type: "deliver", items: [{ ...item, attempt: 2 }] });
    expect(await connection.frame("ack", acksBefore)).toEqual({ type: "ack", ids: [item.id] });
    await waitUntil(() => hook.calls.items.length === 2, 5_000, "two hook calls");
    expect(hook.calls.items.filter((call) => call.path === "/hook")).toHaveLength(2);
    expect(
      hook.calls.items.filter((call) => (call.body as { item?: { id: string } }).item?.id === item.id),
    ).toHaveLength(1);
  });

  it("answers nack inbox_full once the inbox is at its cap, while the hook is stuck", async () => {
    const { dir, relay, hook } = await environment(() => "hang");
    await start({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url(), inboxMaxItems: 2, hookTimeoutMs: 5_000 });
    const connection = await connected(relay);
    const [a, b, c] = [messageItem(), messageItem(), messageItem()];
    connection.send({ type: "deliver", items: [a, b, c] });
    expect(await connection.frame("ack")).toEqual({ type: "ack", ids: [a.id, b.id] });
    expect(await connection.frame("nack")).toEqual({ type: "nack", ids: [c.id], reason: "inbox_full" });
  });

  it("resumes after a restart with lastReceivedId, offlineSinceMs and the same connectorId", async () => {
    const { dir, relay, hook } = await environment();
    const first = await start({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url() });
    const connection = await connected(relay);
    const initial = await connection.frame("reconnect");
    const item = messageItem();
    connection.send({ type: "deliver", items: [item] });
    await connection.frame("ack");
    await connection.frame("processed");
    await first.connector.close();
    expect((await connection.closed).code).toBe(1000);

    await start({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url(), takeover: true });
    const second = await relay.connections.waitFor(() => true, 1);
    const resumed = await second.frame("reconnect");
    expect(resumed).toMatchObject({ connectorId: initial.connectorId, lastReceivedId: item.id, mode: "takeover" });
    expect(resumed.offlineSinceMs).toEqual(expect.any(Number));
    expect(second.headers["x-claw-connector-id"]).toBe(initial.connectorId);
  });

  it("keeps processed frames made while the link is down and sends them after the next reconnect_ack", async () => {
    const { dir, relay, hook } = await environment();
    const { connector } = await start({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url() });
    const connection = await connected(relay);
    hook.answer = async () => {
      // The agent answers only once the connector has seen its link drop.
      connection.socket.terminate();
      await waitUntil(() => connector.link.status().state !== "connected", 5_000, "link down");
      return { status: 200 };
    };
    const item = messageItem();
    connection.send({ type: "deliver", items: [item] });
    // No ack to wait for: acks go out in bulk after a few ms, and the socket drops before that
    // (the relay would send the item again and get the ack of its duplicate).
    await waitUntil(() => connector.store.counts().pendingReports === 1, 5_000, "report kept");
    const next = await connected(relay, 1);
    expect(await next.frame("processed")).toEqual({ type: "processed", id: item.id, outcome: "processed" });
    await waitUntil(() => connector.store.counts().pendingReports === 0, 5_000, "report sent");
  });

  it("reports link, role, breakers and counts on /v1/status and stays healthy", async () => {
    const { dir, relay, hook } = await environment();
    const { api } = await start({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url() });
    const connection = await connected(relay);
    connection.send({ type: "role", role: "standby", reason: "takeover by another connector" });
    const status = await (async () => {
      for (;;) {
        const answer = await api("/v1/status");
        const body = answer.body as { link: { role: string } };
        if (body.link.role === "standby") return body;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    expect(status).toMatchObject({
      agentId: "bob-agent",
      link: { state: "connected", role: "standby", relayUrl: relay.url },
      breakers: { hook: "closed", outbound: {} },
      counts: { inboxPending: 0, outbox: { queued: 0, sending: 0, sent: 0, failed: 0 }, deadLetters: 0 },
    });
    expect((await api("/healthz")).body).toMatchObject({ status: "ok", agentId: "bob-agent", link: "connected" });
  });
});
