import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Scheduler, StoredDeadline } from "../src/session/time/scheduler.js";
import type { TestAgent } from "./support/agents.js";
import { knownAgent, sendOk } from "./support/session.js";
import { advanceClock, connect, fireAlarm, sessionStub } from "./support/socket.js";

type Deadlines = Record<StoredDeadline, number | null>;
interface Internals {
  o: { scheduler: Scheduler };
}

/** The scheduler's kept deadlines and the ones SQLite holds now, read in the session itself. */
async function deadlines(agent: TestAgent): Promise<{ kept: Deadlines; stored: Deadlines }> {
  return runInDurableObject(sessionStub(agent.id), (instance: unknown) => {
    const { scheduler } = (instance as Internals).o;
    return { kept: { ...scheduler.storedDeadlines() }, stored: { ...scheduler.storedDeadlines({ fresh: true }) } };
  });
}

/**
 * The kept copy is a lower bound of what storage holds, kind by kind: a deadline in storage is
 * known, at or before its time. A writer that forgot to report its deadline shows here as a kept
 * value that is absent or later (the alarm would come late or never).
 */
async function lowerBound(agent: TestAgent, expectPresent: StoredDeadline[] = []) {
  const { kept, stored } = await deadlines(agent);
  for (const kind of Object.keys(stored) as StoredDeadline[]) {
    const real = stored[kind];
    if (real === null) continue;
    expect(kept[kind], `${kind}: kept ${kept[kind]}, stored ${real}`).not.toBeNull();
    expect(kept[kind]!, kind).toBeLessThanOrEqual(real);
  }
  for (const kind of expectPresent) expect(stored[kind], `${kind} in storage`).not.toBeNull();
  return { kept, stored };
}

describe("the scheduler's kept deadlines (issue 18: no deadline query after every event)", () => {
  it("know every deadline a send, a delivery, a nack, an outcome and a receipt write", async () => {
    const [alice, bob] = [await knownAgent("alice.dl"), await knownAgent("bob.dl")];
    await sendOk(alice, bob, { payload: "warm" });
    // The first read, then every later write only reported.
    await lowerBound(bob, ["expiry"]);
    await sendOk(
      alice,
      bob,
      { payload: "short", ttlSeconds: 2, notify: ["delayed"] },
      { idempotencyKey: "dl-key-000001" },
    );
    await lowerBound(bob, ["expiry", "delayed", "idempotency"]);
    const { socket } = await connect(bob);
    const items = await socket.items(2);
    await lowerBound(bob, ["ack"]);
    socket.send({ type: "nack", ids: [items[0]!.id], retryAfterMs: 1_000, reason: "inbox_full" });
    await expect.poll(async () => (await deadlines(bob)).stored.backoff).not.toBeNull();
    await lowerBound(bob, ["backoff"]);
    socket.ack([items[1]!.id]);
    socket.send({ type: "processed", id: items[1]!.id, outcome: "failed", reason: "hook_error" });
    await expect.poll(async () => (await deadlines(bob)).stored.finished).not.toBeNull();
    await lowerBound(bob, ["finished"]);
    // A receipt to the sender's own session is an outbox row until its RPC answers.
    await lowerBound(alice);
    // Past the short message's TTL and the backoff, the alarm reads them again and runs the work.
    await advanceClock(bob.id, 3_000);
    await fireAlarm(bob.id);
    await lowerBound(bob);
    await sendOk(alice, bob, { payload: "after the alarm", ttlSeconds: 1 });
    const { kept, stored } = await lowerBound(bob, ["expiry"]);
    expect(kept.expiry).toBe(stored.expiry); // the newest, shortest TTL is the earliest expiry
    socket.close();
  });

  it("is read again after the alarm: a deadline that went away stops waking the session", async () => {
    const [alice, carol] = [await knownAgent("alice.dl2"), await knownAgent("carol.dl2")];
    const { socket } = await connect(carol);
    await sendOk(alice, carol, { payload: 1 });
    const [item] = await socket.items(1);
    socket.ack([item!.id]);
    await expect.poll(async () => (await deadlines(carol)).stored.ack).toBeNull();
    // Kept early (the acked item's deadline), never late.
    expect((await deadlines(carol)).kept.ack).not.toBeNull();
    await fireAlarm(carol.id);
    const after = await deadlines(carol);
    expect(after.kept.ack).toBeNull();
    expect(after.kept).toEqual(after.stored);
    socket.close();
  });
});
