import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TestAgent } from "./support/agents.js";
import { knownAgent, sendOk } from "./support/session.js";
import { agreeing, cacheView } from "./support/session-caches.js";
import { advanceClock, connect, fireAlarm } from "./support/socket.js";

/** The in-memory copies of issue 18 (in-flight count, queue usage) against SQLite. */
const settled = async (agent: TestAgent) => {
  const view = await cacheView(agent.id);
  expect(view).toEqual(agreeing(view));
  return view;
};

describe("delivery's in-flight count", () => {
  it("follows sends, acks, nacks, a closed socket, a reconnect and a new session object", async () => {
    const [alice, bob] = [await knownAgent("alice.ifc"), await knownAgent("bob.ifc")];
    for (let i = 0; i < 5; i++) await sendOk(alice, bob, { payload: i });
    expect((await settled(bob)).inFlight.rows).toBe(0);
    const { socket } = await connect(bob, { connectorId: "conn-a" });
    const items = await socket.items(5);
    expect((await settled(bob)).inFlight.rows).toBe(5);
    socket.ack([items[0]!.id, items[1]!.id]);
    socket.send({ type: "nack", ids: [items[2]!.id], retryAfterMs: 60_000, reason: "inbox_full" });
    await expect.poll(async () => (await cacheView(bob.id)).inFlight.rows).toBe(2);
    await settled(bob);
    socket.close();
    await expect.poll(async () => (await cacheView(bob.id)).inFlight.rows).toBe(0);
    await settled(bob);
    // The reconnect names items[3] as received: counted as its ack; the rest goes out again.
    const { socket: again } = await connect(bob, { connectorId: "conn-b", lastReceivedId: items[3]!.id });
    const redelivered = await again.items(1);
    expect(redelivered.map((i) => i.id)).toEqual([items[4]!.id]);
    expect((await settled(bob)).inFlight.rows).toBe(1);
    again.close();
    await expect.poll(async () => (await cacheView(bob.id)).inFlight.rows).toBe(0);
    // Items left in flight by sockets the object no longer knows: the new object counts them.
    const { socket: third } = await connect(bob, { connectorId: "conn-c" });
    await third.items(1);
    await abortAllDurableObjects();
    expect((await settled(bob)).inFlight.rows).toBe(0); // requeued as orphans at start
    const { socket: fourth } = await connect(bob, { connectorId: "conn-d" });
    await fourth.items(1);
    expect((await settled(bob)).inFlight.rows).toBe(1);
    fourth.close();
  });

  it("loses the items that expire or time out in flight, and still fills the window after", async () => {
    const [alice, bob] = [await knownAgent("alice.ifx"), await knownAgent("bob.ifx")];
    const { socket } = await connect(bob);
    for (let i = 0; i < 3; i++) await sendOk(alice, bob, { payload: i, ttlSeconds: 5 });
    await sendOk(alice, bob, { payload: "long", priority: "critical" });
    await socket.items(4);
    expect((await settled(bob)).inFlight.rows).toBe(4);
    await advanceClock(bob.id, 6_000);
    await fireAlarm(bob.id);
    expect((await settled(bob)).inFlight.rows).toBe(1); // three expired (outcomes), one still out
    await advanceClock(bob.id, 30_001);
    await fireAlarm(bob.id); // the ack timeout puts the critical one back, and it goes again at once
    const [late] = await socket.items(1);
    expect(late).toMatchObject({ attempt: 2 });
    expect((await settled(bob)).inFlight.rows).toBe(1);
    const fresh = await sendOk(alice, bob, { payload: "after" });
    expect((await socket.items(1))[0]?.id).toBe(fresh.messageId);
    expect((await settled(bob)).inFlight.rows).toBe(2);
    socket.ack([late!.id, fresh.messageId]);
    await expect.poll(async () => (await cacheView(bob.id)).inFlight.rows).toBe(0);
    expect((await settled(bob)).liveItems.rows).toBe(0);
    socket.close();
  });
});
