import { describe, expect, it } from "vitest";
import { knownAgent, messageRecord, sendOk, statusOf } from "./support/session.js";
import { advanceClock, connect, fireAlarm } from "./support/socket.js";

// Regression tests for bugs the model-based test (test/model) found. A nack or a closed socket
// gives an item's attempt back (attempts can be 0 again), but the item was still sent and the
// connector may hold it; and a half-open probe can leave flight without an answer.

describe("an item that was sent stays 'sent' after its attempt is given back", () => {
  /** One item delivered to bob's connector, then nacked: queued again, its attempt given back. */
  async function sentThenNacked() {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: 1 });
    await socket.items(1);
    socket.send({ type: "nack", ids: [sent.messageId], reason: "inbox_full", retryAfterMs: 60_000 });
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("queued");
    return { alice, bob, socket, sent };
  }

  it("an ack for it counts (PROTOCOL.md §6: the connector stored it)", async () => {
    const { alice, bob, socket, sent } = await sentThenNacked();
    socket.ack([sent.messageId]);
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("acked");
    expect((await statusOf(bob)).queue.items).toBe(0);
    socket.close();
  });

  it("a processed frame for it becomes its terminal receipt", async () => {
    const { alice, bob, socket, sent } = await sentThenNacked();
    socket.send({ type: "processed", id: sent.messageId, outcome: "failed", reason: "hook said 400" });
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("failed");
    expect((await messageRecord(alice, bob, sent.messageId)).json.receipts.map((r) => r.status)).toEqual(["failed"]);
    socket.close();
  });

  it("reconnecting with it as lastReceivedId is no resync and counts as the lost ack", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob, { connectorId: "conn-lost-ack" });
    const sent = await sendOk(alice, bob, { payload: 1 });
    await socket.items(1);
    // The connector stored the item, but the socket died before its ack left.
    socket.close();
    await expect.poll(async () => (await statusOf(bob)).queue.inFlight).toBe(0);
    const { socket: again, ack } = await connect(bob, { connectorId: "conn-lost-ack", lastReceivedId: sent.messageId });
    expect({ resync: ack.resync, queuedCount: ack.queuedCount, lastAckedId: ack.lastAckedId }).toEqual({
      resync: false,
      queuedCount: 0,
      lastAckedId: sent.messageId,
    });
    expect((await messageRecord(alice, bob, sent.messageId)).json.state).toBe("acked");
    await fireAlarm(bob.id);
    expect(again.frames.filter((f) => f.type === "deliver")).toHaveLength(0);
    again.close();
  });
});

describe("a half-open probe that can no longer be answered", () => {
  async function openBreakerAndProbe() {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob, { connectorId: "conn-old" });
    const sent = await sendOk(alice, bob, { payload: 1, ttlSeconds: 60 });
    for (let i = 0; i < 5; i++) {
      await socket.items(1);
      socket.send({ type: "nack", ids: [sent.messageId], reason: "inbox_full" });
    }
    await expect.poll(async () => (await statusOf(bob)).breaker.state).toBe("open");
    await advanceClock(bob.id, 30_000);
    await socket.ping();
    await fireAlarm(bob.id);
    const [probe] = await socket.items(1);
    expect(probe?.id).toBe(sent.messageId);
    return { alice, bob, socket, sent };
  }

  it("lost with its socket to a takeover: the new connector gets the next probe", async () => {
    const { alice, bob, socket, sent } = await openBreakerAndProbe();
    const { socket: taker, ack } = await connect(bob, { connectorId: "conn-new", mode: "takeover" });
    expect(ack.role).toBe("active");
    expect(await socket.closed()).toBe(4001);
    const [again] = await taker.items(1);
    expect(again?.id).toBe(sent.messageId);
    taker.ack([sent.messageId]);
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("acked");
    expect((await statusOf(bob)).breaker.state).toBe("closed");
    taker.close();
  });

  it("expired in flight: the next message goes out as a new probe", async () => {
    const { alice, bob, socket, sent } = await openBreakerAndProbe();
    await advanceClock(bob.id, 30_000);
    await socket.ping();
    await fireAlarm(bob.id);
    expect((await messageRecord(alice, bob, sent.messageId)).json.state).toBe("expired");
    const next = await sendOk(alice, bob, { payload: 2 });
    const [item] = await socket.items(1);
    expect(item?.id).toBe(next.messageId);
    socket.close();
  });
});
