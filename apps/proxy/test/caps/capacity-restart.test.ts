import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Sql } from "../../src/platform/sql.js";
import { Capacity, LIVE_USAGE_SQL } from "../../src/session/queue/capacity.js";
import type { TestAgent } from "../support/agents.js";
import { knownAgent, send, sendOk } from "../support/session.js";
import { agreeing, cacheView } from "../support/session-caches.js";
import { advanceClock, connect, fireAlarm, sessionStub } from "../support/socket.js";

// This file runs in the `workers-caps` project: RELAY_QUEUE_MAX_ITEMS=10, RELAY_QUEUE_MAX_BYTES=4096.
// Capacity's totals are the sum over the live items, read once a session and kept in memory
// after (issue 18: no counter tables). What it kept must equal a fresh sum at every step, and a
// restarted session, which sums again, must decide every send as the old one did.

const CAPS = { RELAY_QUEUE_MAX_ITEMS: 10, RELAY_QUEUE_MAX_BYTES: 4096, RELAY_LOW_LANE_ADMIT_RATIO: 0.8 };

interface Internals {
  o: { queue: { s: { capacity: Capacity } } };
}
const keptCapacity = (instance: unknown) => (instance as Internals).o.queue.s.capacity;
const sessionSql = (capacity: Capacity) => (capacity as unknown as { sql: Sql }).sql;

/** Lanes, senders and live items as one Capacity sees them. */
function usageOf(capacity: Capacity, senders: readonly string[]) {
  return {
    lanes: [0, 1, 2].map((rank) => capacity.lane(rank)),
    liveItems: capacity.liveItems(),
    senders: Object.fromEntries(senders.map((id) => [id, capacity.sender(id)])),
  };
}

/** The session's kept totals against a new Capacity's sum over the same rows. */
function keptAndSummed(agent: TestAgent, senders: readonly TestAgent[]) {
  return runInDurableObject(sessionStub(agent.id), (instance) => {
    const kept = keptCapacity(instance);
    const ids = senders.map((s) => s.id);
    return { kept: usageOf(kept, ids), summed: usageOf(new Capacity(sessionSql(kept), CAPS), ids) };
  });
}

async function expectKeptIsSum(agent: TestAgent, senders: readonly TestAgent[]) {
  const { kept, summed } = await keptAndSummed(agent, senders);
  expect(kept).toEqual(summed);
  return kept;
}

function acceptReceipt(agent: TestAgent, recipient: TestAgent, n: number) {
  return runInDurableObject(sessionStub(agent.id), async (instance) => {
    // The delivered receipt of a message `agent` sent to `recipient`, as that session hands it over.
    const stored = await instance.acceptReceipt(agent.id, {
      receiptId: `01J0000000000000000000RCP${n}`,
      messageId: `01J0000000000000000000MSG${n}`,
      correlationId: `corr-capacity-restart-${n}`,
      status: "delivered",
      recipient: recipient.id,
      at: Date.now(),
      attempts: 1,
      enqueuedAt: Date.now(),
    });
    expect(stored.ok).toBe(true);
  });
}

/** What admission decides for each sender, lane and size: the victims it would shed, or its refusal. */
function decisions(agent: TestAgent, senders: readonly TestAgent[]) {
  return runInDurableObject(sessionStub(agent.id), (instance) => {
    const capacity = keptCapacity(instance);
    const out: Record<string, string> = {};
    for (const sender of senders)
      for (const rank of [0, 1, 2])
        for (const bytes of [10, 1500]) {
          const key = `${sender.id}/${rank}/${bytes}`;
          try {
            out[key] = `shed ${capacity.plan(sender.id, rank, bytes, 0.5).map((v) => v.id)}`;
          } catch (err) {
            out[key] = `refused: ${(err as Error).message}`;
          }
        }
    return out;
  });
}

describe("capacity's totals without counter tables", () => {
  it("kept by account equal a fresh sum over the live items at every step", async () => {
    const bob = await knownAgent("bob.kr");
    const [c, n, l] = [await knownAgent("c.kr"), await knownAgent("n.kr"), await knownAgent("l.kr")];
    const all = [bob, c, n, l];
    await sendOk(c, bob, { payload: "c", priority: "critical" });
    for (let i = 0; i < 3; i++) await sendOk(n, bob, { payload: "n".repeat(200 * i) });
    for (let i = 0; i < 3; i++) await sendOk(l, bob, { payload: i, priority: "low", ttlSeconds: 5 });
    await acceptReceipt(bob, c, 1);
    await acceptReceipt(bob, c, 2);
    expect((await expectKeptIsSum(bob, all)).liveItems).toBe(9);
    const { socket } = await connect(bob);
    const items = await socket.items(9); // all in flight, the receipts with them
    await expectKeptIsSum(bob, all);
    socket.ack(items.slice(0, 3).map((item) => item.id));
    await expect.poll(async () => (await cacheView(bob.id)).liveItems.rows).toBe(6);
    await expectKeptIsSum(bob, all);
    await advanceClock(bob.id, 6_000);
    await fireAlarm(bob.id); // l's three expire in flight
    expect((await expectKeptIsSum(bob, all)).senders[l.id]).toEqual({ items: 0, bytes: 0 });
    socket.close();
    await expect.poll(async () => (await cacheView(bob.id)).inFlight.rows).toBe(0);
    await expectKeptIsSum(bob, all);
  });

  it("read again by a restarted session, admit and refuse every send as before", async () => {
    const bob = await knownAgent("bob.rs");
    const [c, n1, n2, l] = [
      await knownAgent("c.rs"),
      await knownAgent("n1.rs"),
      await knownAgent("n2.rs"),
      await knownAgent("l.rs"),
    ];
    const senders = [c, n1, n2, l, await knownAgent("new.rs")];
    // The low items first: the low lane is refused once the queue holds 8 items.
    for (let i = 0; i < 3; i++) await sendOk(l, bob, { payload: i, priority: "low" });
    await sendOk(c, bob, { payload: "c", priority: "critical" });
    for (let i = 0; i < 4; i++) await sendOk(n1, bob, { payload: "x".repeat(300) });
    for (let i = 0; i < 2; i++) await sendOk(n2, bob, { payload: "y" });
    await acceptReceipt(bob, c, 3);
    // The critical lane (c's message, the receipt) delivered and acked: no longer counted.
    const { socket } = await connect(bob);
    const taken = (await socket.items(11)).slice(0, 2);
    expect(taken.map((item) => item.kind)).toEqual(["message", "receipt"]);
    socket.ack(taken.map((item) => item.id));
    await expect.poll(async () => (await cacheView(bob.id)).liveItems.rows).toBe(9);
    socket.close();
    await expect.poll(async () => (await cacheView(bob.id)).inFlight.rows).toBe(0);
    // A full queue again, with a receipt waiting: 10 messages over three lanes, 1 receipt.
    await sendOk(c, bob, { payload: "c again", priority: "critical" });
    await acceptReceipt(bob, c, 5);
    expect((await cacheView(bob.id)).liveItems.rows).toBe(11);
    const before = await decisions(bob, senders);
    // The probes cover sheds of the oldest low item and both refusals (low lane bar, share).
    expect(new Set(Object.values(before).map((d) => d.split(" ")[0]))).toEqual(new Set(["shed", "refused:"]));
    expect(Object.values(before).some((d) => d.startsWith("shed 0"))).toBe(true);
    expect(Object.values(before)).toContain("refused: sender holds its full share of this queue");
    expect(Object.values(before)).toContain("refused: queue is too full for low-priority messages");
    const kept = await keptAndSummed(bob, senders);

    await abortAllDurableObjects();
    expect(await decisions(bob, senders)).toEqual(before);
    expect((await keptAndSummed(bob, senders)).kept).toEqual(kept.kept);
    // And through the API: n1 over its byte share is refused, a critical send sheds the oldest low item.
    expect((await send(n1, bob, { payload: "z".repeat(1500) })).status).toBe(507);
    expect((await sendOk(n2, bob, { payload: "urgent", priority: "critical" })).queueDepth).toBe(10);
    expect((await send(l, bob, { payload: "low", priority: "low" })).status).toBe(507);
    const view = await cacheView(bob.id);
    expect(view).toEqual(agreeing(view));
    expect(view.senders[l.id]?.rows.items).toBe(2);
  });

  it("an item counted before the first load is counted once: its write is in what the load reads", async () => {
    const [alice, bob] = [await knownAgent("alice.fl"), await knownAgent("bob.fl")];
    await sendOk(alice, bob, { payload: "one" });
    await acceptReceipt(bob, alice, 4);
    await runInDurableObject(sessionStub(bob.id), (instance) => {
      const sql = sessionSql(keptCapacity(instance));
      const fresh = new Capacity(sql, CAPS);
      // The receipt's row is written; its account is the first thing this Capacity sees.
      fresh.account({ kind: "receipt", lane: 0, sender: alice.id, bytes: 100 }, 1);
      expect(fresh.liveItems()).toBe(2);
      expect(fresh.total().items).toBe(1);
    });
  });

  it("sums the live items through a live-state index, not over the finished records", async () => {
    const bob = await knownAgent("bob.qp");
    const plan = await runInDurableObject(sessionStub(bob.id), (_instance, state) =>
      state.storage.sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${LIVE_USAGE_SQL}`)
        .toArray()
        .map((row) => row.detail),
    );
    expect(plan.join("\n")).toMatch(/USING INDEX items_expiry\b/);
  });
});
