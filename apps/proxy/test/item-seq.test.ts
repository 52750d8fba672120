import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { knownAgent, sendOk } from "./support/session.js";
import { sessionStub } from "./support/socket.js";

// The queue counts item seqs itself (session/queue/queue.ts `allocateSeq`) instead of reading
// AUTOINCREMENT's back: the order of delivery is seq order, so a seq must never repeat or run
// backwards — across receipts and messages, deleted rows and a restart of the object.
async function seqs(agentId: string) {
  return runInDurableObject(sessionStub(agentId), (_instance, state) => {
    const rows = state.storage.sql
      .exec<{ seq: number; kind: string }>("SELECT seq, kind FROM items ORDER BY seq")
      .toArray();
    const sequence = state.storage.sql
      .exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'items'")
      .toArray()[0]?.seq;
    return { rows, sequence };
  });
}

describe("item seqs", () => {
  it("grow across messages, receipts, deleted rows and a restart, and AUTOINCREMENT's record follows them", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    await sendOk(alice, bob, { payload: 1 });
    // A receipt item in bob's queue, taken the way another session hands one over.
    await runInDurableObject(sessionStub(bob.id), async (instance) => {
      const stored = await instance.acceptReceipt(bob.id, {
        type: "clawrelay.receipt.v1",
        receiptId: "01J0000000000000000000RCPT",
        messageId: "01J0000000000000000000MSG0",
        correlationId: "corr-item-seq",
        status: "delivered",
        at: Date.now(),
        recipient: alice.id,
      } as never);
      expect(stored.ok).toBe(true);
    });
    await sendOk(alice, bob, { payload: 2 });
    const before = await seqs(bob.id);
    expect(before.rows.map((r) => r.kind)).toEqual(["message", "receipt", "message"]);
    const last = before.rows.at(-1)?.seq ?? 0;
    expect(before.sequence).toBe(last);
    // The newest row gone, then a restart: the next seq is still past it.
    await runInDurableObject(sessionStub(bob.id), (_instance, state) => {
      state.storage.sql.exec("DELETE FROM items WHERE seq = ?", last);
    });
    await abortAllDurableObjects();
    await sendOk(alice, bob, { payload: 3 });
    const after = await seqs(bob.id);
    const newest = after.rows.at(-1)?.seq ?? 0;
    expect(newest).toBe(last + 1);
    expect(after.sequence).toBe(newest);
  });
});
