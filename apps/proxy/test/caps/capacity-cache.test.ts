import { describe, expect, it } from "vitest";
import type { TestAgent } from "../support/agents.js";
import { knownAgent, send, sendOk } from "../support/session.js";
import { agreeing, cacheView } from "../support/session-caches.js";
import { advanceClock, connect, fireAlarm } from "../support/socket.js";

// This file runs in the `workers-caps` project: RELAY_QUEUE_MAX_ITEMS=10, RELAY_QUEUE_MAX_BYTES=4096.
// Capacity keeps the queue's usage in memory only (issue 18); after each step what it kept must
// equal the live rows, and admission must decide on it as it would on the rows.
const settled = async (agent: TestAgent) => {
  const view = await cacheView(agent.id);
  expect(view).toEqual(agreeing(view));
  return view;
};

describe("capacity's kept usage", () => {
  it("follows shedding: the shed sender's share frees up", async () => {
    const bob = await knownAgent("bob.cc");
    const [low, n1, n2] = [await knownAgent("low.cc"), await knownAgent("n1.cc"), await knownAgent("n2.cc")];
    for (let i = 0; i < 4; i++) await sendOk(low, bob, { payload: i, priority: "low" });
    for (let i = 0; i < 4; i++) await sendOk(n1, bob, { payload: i });
    for (let i = 0; i < 2; i++) await sendOk(n2, bob, { payload: i });
    expect((await settled(bob)).total.rows.items).toBe(10);
    // Each of these sheds one of low's items (the queue stays full).
    for (let i = 0; i < 3; i++) expect((await sendOk(n2, bob, { payload: `n2-${i}` })).queueDepth).toBe(10);
    const view = await settled(bob);
    expect(view.senders[low.id]?.rows.items).toBe(1);
    expect(view.senders[n2.id]?.rows.items).toBe(5);
    // n2 is at its share (5 of 10) and has nothing lower of its own to shed.
    expect((await send(n2, bob, { payload: "over" })).status).toBe(507);
    await sendOk(n1, bob, { payload: "n1-last", priority: "critical" }); // sheds low's last item
    expect((await settled(bob)).senders[low.id]).toBeUndefined();
  });

  it("follows expiry and acks: a sender at its share may send again once its items are gone", async () => {
    const bob = await knownAgent("bob.ce");
    const [a, b] = [await knownAgent("a.ce"), await knownAgent("b.ce")];
    for (let i = 0; i < 5; i++) await sendOk(a, bob, { payload: i, ttlSeconds: 5 });
    for (let i = 0; i < 5; i++) await sendOk(b, bob, { payload: i, ttlSeconds: 600 });
    expect((await send(a, bob, { payload: "over" })).status).toBe(507);
    await advanceClock(bob.id, 6_000);
    await fireAlarm(bob.id);
    expect((await settled(bob)).total.rows.items).toBe(5);
    for (let i = 0; i < 5; i++) expect((await sendOk(a, bob, { payload: `again-${i}` })).queueDepth).toBe(6 + i);
    const { socket } = await connect(bob);
    const items = await socket.items(10);
    expect((await settled(bob)).inFlight.rows).toBe(10);
    socket.ack(items.map((item) => item.id));
    await expect.poll(async () => (await cacheView(bob.id)).total.rows.items).toBe(0);
    const view = await settled(bob);
    expect(view.senders).toEqual({});
    expect((await sendOk(b, bob, { payload: "fresh" })).queueDepth).toBe(1);
    socket.close();
  });
});
