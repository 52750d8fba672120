import { runInDurableObject } from "cloudflare:test";
import { PROTOCOL_LIMITS } from "@clawrelay/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { nonceGeneration } from "../../src/session/access/nonces.js";
import { realNow, setClock } from "../support/clock.js";
import { knownAgent, sendOk } from "../support/session.js";
import { connect, sessionStub } from "../support/socket.js";

/**
 * SQL statements a message costs the recipient's session (issue 18): SQLite's `exec` was a third
 * of workerd's CPU in the bench profile, so the count is a budget a change must not raise quietly.
 * The budgets are the counts after the cuts of issue 18; counters and metrics are written behind
 * (session/write-behind.ts) and do not show here. A send's item, alone in the queue, goes out
 * without the pump's scan, and its rate bucket is held in memory (send 11 → 9). The trace's hops
 * and the send bucket's row are written behind too (send 9 → 6, ack 6 → 5, processed 5 → 4).
 * Queue usage is kept in memory only, summed from the live items once a session, so a send and
 * an ack write no counter rows (send 6 → 4, ack 5 → 3). The scheduler keeps the stored deadlines
 * instead of reading them after every event (send 4 → 3, ack 3 → 2, processed 4 → 3). An ack for
 * an item in flight and a report for an acked message are one UPDATE … RETURNING each instead of
 * a select and an update (ack 2 → 1, processed 3 → 2).
 */
const BUDGET = { send: 3, ack: 1, processed: 2 } as const;

/** Counts every `exec` on the session's storage while `counting` is on. */
async function tapStatements(agentId: string) {
  const tap = { counting: false, statements: [] as string[] };
  await runInDurableObject(sessionStub(agentId), (_instance, state) => {
    const sql = state.storage.sql as unknown as { exec: (query: string, ...bindings: unknown[]) => unknown };
    const exec = sql.exec.bind(sql);
    sql.exec = (query: string, ...bindings: unknown[]) => {
      if (tap.counting) tap.statements.push(query.replace(/\s+/g, " ").trim());
      return exec(query, ...bindings);
    };
  });
  return tap;
}

/** The item's state, read without counting (the test's own read is not the message's cost). */
async function stateOf(agentId: string, tap: { counting: boolean }, id: string): Promise<string | null> {
  return runInDurableObject(sessionStub(agentId), (_instance, state) => {
    const was = tap.counting;
    tap.counting = false;
    try {
      const row = state.storage.sql.exec<{ state: string }>("SELECT state FROM items WHERE id = ?", id).toArray()[0];
      return row?.state ?? null;
    } finally {
      tap.counting = was;
    }
  });
}

const seen: Record<string, string[]> = {};
afterAll(() => {
  // On a failure, the statements of each step are what the reader needs.
  for (const [step, statements] of Object.entries(seen))
    if (statements.length > BUDGET[step as keyof typeof BUDGET]) console.log(step, statements);
});

describe("SQL statements per message in the recipient's session", () => {
  it("a send, its ack and its processed report stay within their budgets", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    // Mid-way through a nonce generation: the first nonce of a generation also empties a table
    // (access/nonces.ts), once every 600 s, which is not what a message costs.
    const window = PROTOCOL_LIMITS.nonceWindowSeconds * 1000;
    await setClock(sessionStub(bob.id), (nonceGeneration(realNow()) + 1) * window + window / 2);
    const { socket } = await connect(bob);
    // One message first: caches are loaded and the sweeps have run, as in steady traffic.
    const warm = await sendOk(alice, bob, { payload: "warm-up" });
    socket.ack([(await socket.messages(1))[0]!.id]);
    await expect.poll(() => stateOf(bob.id, { counting: false }, warm.messageId)).toBe("acked");
    const tap = await tapStatements(bob.id);

    const step = async (name: keyof typeof BUDGET, body: () => Promise<void>) => {
      tap.statements = [];
      tap.counting = true;
      await body();
      tap.counting = false;
      seen[name] = tap.statements;
      return tap.statements.length;
    };
    let id = "";
    const send = await step("send", async () => {
      id = (await sendOk(alice, bob, { payload: "counted" })).messageId;
      await socket.messages(1);
    });
    const ack = await step("ack", async () => {
      socket.ack([id]);
      await expect.poll(() => stateOf(bob.id, tap, id)).toBe("acked");
    });
    const processed = await step("processed", async () => {
      socket.send({ type: "processed", id, outcome: "processed" });
      await expect.poll(() => stateOf(bob.id, tap, id)).toBe("processed");
    });
    // A budget of 0 would pass with a broken tap: the path is known to run statements.
    expect(send).toBeGreaterThan(0);
    expect({ send, ack, processed }).toEqual({
      send: Math.min(send, BUDGET.send),
      ack: Math.min(ack, BUDGET.ack),
      processed: Math.min(processed, BUDGET.processed),
    });
    socket.close();
  });
});
