import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { adminCall, makeAgent } from "./support/agents.js";
import { knownAgent, messageRecord, sendOk, statusOf, uniqueId } from "./support/session.js";
import { advanceClock, connect, fireAlarm, openSocket } from "./support/socket.js";

describe("reconnect handshake", () => {
  it("reconnect_ack gives exact counts per lane and what expired while offline", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket: first } = await connect(bob);
    first.close();
    await expect.poll(async () => (await statusOf(bob)).connections.length).toBe(0);
    const offlineSince = Date.now();
    const expiring = await sendOk(
      alice,
      bob,
      { payload: "gone", ttlSeconds: 10 },
      { correlationId: "corr-offline-001" },
    );
    for (const priority of ["critical", "normal", "normal", "low", "low", "low"] as const) {
      await sendOk(alice, bob, { payload: priority, priority, ttlSeconds: 3600 });
    }
    await advanceClock(bob.id, 11_000);
    await fireAlarm(bob.id);
    const { socket, ack } = await connect(bob, { offlineSinceMs: offlineSince });
    expect(ack).toMatchObject({
      role: "active",
      queuedCount: 6,
      lanes: { critical: 1, normal: 2, low: 3 },
      expiredCount: 1,
      resync: false,
    });
    expect(ack.expired).toEqual([
      { id: expiring.messageId, correlationId: "corr-offline-001", from: alice.id, expiredAt: expect.any(Number) },
    ]);
    expect(ack.oldestQueuedAt).toBeTypeOf("number");
    const items = await socket.items(6);
    expect(items.map((i) => (i.kind === "message" ? i.priority : "receipt"))).toEqual([
      "critical",
      "normal",
      "normal",
      "low",
      "low",
      "low",
    ]);
    socket.close();
  });

  it("resync when lastReceivedId is unknown or never sent; nothing is deleted and all is redelivered", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const a = await sendOk(alice, bob, { payload: "a" });
    const { socket, ack } = await connect(bob, { lastReceivedId: "01KZZZZZZZZZZZZZZZZZZZZZZZ" });
    expect(ack.resync).toBe(true);
    expect((await socket.items(1))[0]?.id).toBe(a.messageId);
    socket.close();
    await expect.poll(async () => (await statusOf(bob)).connections.length).toBe(0);
    // A known id that was never sent is "from the future" too.
    const b = await sendOk(alice, bob, { payload: "b", priority: "low" });
    const again = await connect(bob, { lastReceivedId: b.messageId });
    expect(again.ack.resync).toBe(true);
    const ids = (await again.socket.items(2)).map((i) => i.id);
    expect(ids).toEqual([a.messageId, b.messageId]);
    again.socket.close();
  });

  it("the first frame must be reconnect (else 1008), within 10 s (else 1008)", async () => {
    const bob = await knownAgent("bob");
    const { socket } = await openSocket(bob);
    socket.send({ type: "ack", ids: ["x"] });
    expect(await socket.closed()).toBe(1008);
    const { socket: silent } = await openSocket(bob);
    await advanceClock(bob.id, 10_001);
    await fireAlarm(bob.id);
    expect(await silent.closed()).toBe(1008);
  });

  it("invalid frames get error frames and never reset the session; 20 within 60 s close with 1008", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    socket.send("not json");
    socket.send({ type: "nonsense" });
    socket.send({ type: "ack", ids: "nope" });
    for (let i = 0; i < 3; i++) expect((await socket.next("error")).code).toBe("invalid_frame");
    // Still working: a message gets through.
    const sent = await sendOk(alice, bob, { payload: 1 });
    expect((await socket.items(1))[0]?.id).toBe(sent.messageId);
    for (let i = 0; i < 17; i++) socket.send("{bad");
    expect(await socket.closed()).toBe(1008);
  });

  it("a frame over 1 MiB closes the socket with 1009", async () => {
    const bob = await knownAgent("bob");
    const { socket } = await connect(bob);
    socket.send(JSON.stringify({ type: "ack", ids: ["x".repeat(2 * 1024 * 1024)] }));
    expect(await socket.closed()).toBe(1009);
  });
});

describe("several connectors", () => {
  it("later connectors are standby; when the active closes, the longest-waiting standby is promoted and gets what was in flight", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket: active, ack: a1 } = await connect(bob, { connectorId: "node-a" });
    const { socket: standby1, ack: a2 } = await connect(bob, { connectorId: "node-b" });
    const { socket: standby2, ack: a3 } = await connect(bob, { connectorId: "node-c" });
    expect([a1.role, a2.role, a3.role]).toEqual(["active", "standby", "standby"]);
    const sent = await sendOk(alice, bob, { payload: 1 });
    expect((await active.items(1))[0]?.id).toBe(sent.messageId);
    expect(standby1.frames.filter((f) => f.type === "deliver")).toHaveLength(0);
    active.close();
    expect(await standby1.next("role")).toMatchObject({ role: "active" });
    const [moved] = await standby1.items(1);
    expect(moved?.id).toBe(sent.messageId);
    const status = await statusOf(bob);
    expect(status.connections.map((c) => [c.connectorId, c.role]).sort()).toEqual([
      ["node-b", "active"],
      ["node-c", "standby"],
    ]);
    standby1.close();
    standby2.close();
  });

  it("a stale active socket (no ping for RELAY_STALE_AFTER_MS) is closed and a standby promoted", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket: active } = await connect(bob, { connectorId: "stale-a" });
    const sent = await sendOk(alice, bob, { payload: 1 });
    await active.items(1);
    // The standby arrives 30 s later by the session's clock, so it is fresh when the active is stale.
    await advanceClock(bob.id, 30_000);
    const { socket: standby } = await connect(bob, { connectorId: "fresh-b" });
    await advanceClock(bob.id, 30_001);
    await fireAlarm(bob.id);
    expect(await active.closed()).toBe(1011);
    expect(await standby.next("role")).toMatchObject({ role: "active" });
    expect((await standby.items(1))[0]?.id).toBe(sent.messageId);
    standby.close();
  });

  // Either way the newcomer replaces a connector that was not answering: it owes nothing to the
  // breaker and backoffs the old one earned.
  it.each([
    ["a standby promoted when the active closes", "promotion"],
    ["a connector that takes over", "takeover"],
  ] as const)(
    "%s does not inherit the old active's open breaker or backoffs: it gets everything at once, in order",
    async (_, way) => {
      const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
      const { socket: active } = await connect(bob, { connectorId: `failing-${way}` });
      const sent: string[] = [];
      // The active connector refuses five items, each "retry in a minute": the breaker opens.
      for (let i = 0; i < 5; i++) {
        sent.push((await sendOk(alice, bob, { payload: i })).messageId);
        const [item] = await active.items(1);
        active.send({ type: "nack", ids: [item?.id ?? ""], reason: "inbox_full", retryAfterMs: 60_000 });
      }
      await expect.poll(async () => (await statusOf(bob)).breaker.state).toBe("open");
      sent.push((await sendOk(alice, bob, { payload: 5 })).messageId);
      let newcomer: Awaited<ReturnType<typeof connect>>["socket"];
      if (way === "promotion") {
        ({ socket: newcomer } = await connect(bob, { connectorId: `healthy-${way}` }));
        active.close();
        expect(await newcomer.next("role")).toMatchObject({ role: "active" });
      } else {
        ({ socket: newcomer } = await connect(bob, { connectorId: `healthy-${way}`, mode: "takeover" }));
        expect(await active.closed()).toBe(4001);
      }
      // No clock advance: neither the 30 s breaker nor the one-minute backoffs hold the new connector.
      expect((await newcomer.items(6)).map((item) => item.id)).toEqual(sent);
      expect((await statusOf(bob)).breaker.state).toBe("closed");
      newcomer.close();
    },
  );

  it("mode takeover makes the newcomer active and closes the old socket with 4001", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket: old } = await connect(bob, { connectorId: "old-node" });
    const sent = await sendOk(alice, bob, { payload: 1 });
    await old.items(1);
    const { socket: fresh, ack } = await connect(bob, { connectorId: "new-node", mode: "takeover" });
    expect(ack.role).toBe("active");
    expect(await old.closed()).toBe(4001);
    expect((await fresh.items(1))[0]?.id).toBe(sent.messageId);
    fresh.close();
  });
});

describe("durability", () => {
  it("a session evicted from memory mid-queue resumes from storage with nothing lost", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push((await sendOk(alice, bob, { payload: i, priority: i % 2 ? "normal" : "critical" })).messageId);
    const { socket } = await connect(bob);
    const firstBatch = await socket.items(20);
    socket.ack(firstBatch.slice(0, 5).map((i) => i.id));
    await expect.poll(async () => (await statusOf(bob)).queue.items).toBe(15);
    await abortAllDurableObjects();
    const { socket: after } = await connect(bob);
    const redelivered = await after.items(15);
    expect(new Set(redelivered.map((i) => i.id))).toEqual(new Set(firstBatch.slice(5).map((i) => i.id)));
    after.ack(redelivered.map((i) => i.id));
    await expect.poll(async () => (await statusOf(bob)).queue.items).toBe(0);
    for (const id of ids) expect((await messageRecord(alice, bob, id)).json.state).toBe("acked");
    after.close();
  });
});

describe("credentials on open connections", () => {
  it("a connection whose token expires is closed with 4003", async () => {
    const bob = await makeAgent(uniqueId("bob"), { lifetimeSeconds: 120 });
    const { socket } = await connect(bob);
    await advanceClock(bob.id, 121_000);
    await fireAlarm(bob.id);
    expect(await socket.closed()).toBe(4003);
  });

  it("revoking an agent closes its connections with 4003 at once", async () => {
    const bob = await knownAgent("bob");
    const { socket } = await connect(bob);
    expect((await adminCall("POST", "/v1/admin/revocations", { agentId: bob.id })).status).toBe(201);
    expect(await socket.closed()).toBe(4003);
  });
});
