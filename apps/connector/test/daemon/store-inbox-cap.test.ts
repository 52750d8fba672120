import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { STORE_FILE_NAME, type Store } from "../../src/daemon/store.js";
import type { InboxEntry } from "../../src/daemon/store-inbox.js";
import { messageItem, receiptItem } from "./helpers/common.js";
import { tempStores } from "./helpers/store.js";

/**
 * The inbox cap (`inboxMaxItems`) is kept with a count held in memory, not a COUNT(*) per batch:
 * these pin that it refuses exactly at the limit through every write that adds or removes a
 * pending message, and through transactions that roll back.
 */
const NOW = 1_700_000_000_000;
const WINDOW = 60_000;
const { open, cleanups } = tempStores({ dedupWindowMs: WINDOW });

function pendingEntry(store: Store, id: string, now = NOW): InboxEntry {
  const entry = store.inbox.due(now, 1_000, new Set()).find((candidate) => candidate.id === id);
  if (!entry) throw new Error(`${id} is not due`);
  return entry;
}

describe("inbox cap", () => {
  it("refuses the message past the limit, counts no receipt, and makes room as items leave", () => {
    const { store } = open({ inboxMaxItems: 3 });
    const [a, b, c, d] = [1, 2, 3, 4].map(() => messageItem());
    const receipt = receiptItem();
    let result = store.storeInbound([a, b, c, receipt, d] as never, NOW);
    expect(result.nackInboxFull).toEqual([d?.id]);
    expect(result.ack).toEqual([a?.id, b?.id, c?.id, receipt.id]);

    store.inbox.markDelivered(pendingEntry(store, a?.id ?? ""), 1, NOW);
    store.inbox.deadLetter(pendingEntry(store, b?.id ?? ""), 1, "no", "dead_lettered", NOW);
    // Delivered again: it was no longer pending, so the count does not move.
    store.inbox.markDelivered({ ...pendingEntry(store, c?.id ?? ""), id: a?.id ?? "" }, 2, NOW);
    const [e, f, g] = [1, 2, 3].map(() => messageItem());
    result = store.storeInbound([e, f, g] as never, NOW);
    expect(result.nackInboxFull).toEqual([g?.id]);

    // A replayed dead letter is pending again: the inbox is over its cap until one leaves.
    expect(store.inbox.replayDeadLetters([b?.id ?? ""], NOW)).toEqual([b?.id]);
    result = store.storeInbound([g] as never, NOW);
    expect(result.nackInboxFull).toEqual([g?.id]);
    store.inbox.markDelivered(pendingEntry(store, b?.id ?? ""), 1, NOW);
    expect(store.storeInbound([g] as never, NOW).nackInboxFull).toEqual([g?.id]);
    store.inbox.markDelivered(pendingEntry(store, c?.id ?? ""), 1, NOW);
    expect(store.storeInbound([g] as never, NOW).ack).toEqual([g?.id]);
  });

  it("counts a pending id taken in again past the dedup window once", () => {
    const { store } = open({ inboxMaxItems: 2 });
    const [a, b, c] = [1, 2, 3].map(() => messageItem());
    store.storeInbound([a] as never, NOW);
    const later = NOW + WINDOW + 1;
    const result = store.storeInbound([a, b, c] as never, later);
    expect(result.ack).toEqual([a?.id, b?.id]);
    expect(result.nackInboxFull).toEqual([c?.id]);
  });

  it("forgets what a rolled-back transaction changed, nested or not", () => {
    const { store } = open({ inboxMaxItems: 2 });
    const [a, b, c] = [1, 2, 3].map(() => messageItem());
    store.storeInbound([a, b] as never, NOW);
    // Delivered inside a caller's transaction that then rolls back: a is still pending.
    expect(() =>
      store.batch(() => {
        store.inbox.markDelivered(pendingEntry(store, a?.id ?? ""), 1, NOW);
        throw new Error("rolled back");
      }),
    ).toThrow();
    expect(store.storeInbound([c] as never, NOW).nackInboxFull).toEqual([c?.id]);
    // The same in a committed caller's transaction makes room.
    store.batch(() => store.inbox.deadLetter(pendingEntry(store, a?.id ?? ""), 1, "no", "dead_lettered", NOW));
    expect(store.storeInbound([c] as never, NOW).ack).toEqual([c?.id]);
  });

  it("agrees with a count of the table after any sequence of writes", () => {
    const max = 4;
    const { store, dir } = open({ inboxMaxItems: max });
    const db = new Database(join(dir, STORE_FILE_NAME), { readonly: true });
    cleanups.push(() => db.close());
    const pending = db.prepare("SELECT COUNT(*) FROM inbox WHERE state = 'pending' AND kind = 'message'").pluck();
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return (seed >>> 16) % n;
    };
    const taken: string[] = [];
    let now = NOW;
    let refusals = 0;
    for (let step = 0; step < 400; step++) {
      now += 1_000;
      const due = store.inbox.due(now, 100, new Set());
      const entry = due[random(Math.max(due.length, 1))];
      const op = random(6);
      if (op <= 1) {
        // New messages, a receipt, and sometimes an id taken in before (past its window or not).
        const batch = [messageItem(), messageItem(), receiptItem()] as Parameters<Store["storeInbound"]>[0][number][];
        const old = taken[random(Math.max(taken.length, 1))];
        if (old && random(2) === 0) batch.push({ ...messageItem(), id: old });
        const before = Number(pending.get());
        const result = store.storeInbound(batch, now);
        const after = Number(pending.get());
        // Refused only at the cap, and nothing taken in past it.
        if (result.nackInboxFull.length > 0) expect(after).toBe(Math.max(before, max));
        else if (after !== before) expect(after).toBeLessThanOrEqual(max);
        refusals += result.nackInboxFull.length;
        for (const item of batch) taken.push(item.id);
      } else if (op === 2 && entry) {
        store.inbox.markDelivered(entry, 1, now);
      } else if (op === 3 && entry) {
        store.inbox.deadLetter(entry, 1, "no", "dead_lettered", now);
      } else if (op === 4) {
        store.inbox.replayDeadLetters(undefined, now);
      } else if (entry) {
        expect(() =>
          store.batch(() => {
            store.inbox.deadLetter(entry, 1, "no", "dead_lettered", now);
            throw new Error("rolled back");
          }),
        ).toThrow();
      }
    }
    // The walk did reach the cap, and more than once.
    expect(refusals).toBeGreaterThan(10);
  });
});
