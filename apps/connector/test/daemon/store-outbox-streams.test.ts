import { join } from "node:path";
import type { Priority, Receipt } from "@clawrelay/protocol";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { STORE_FILE_NAME, Store, type StoreOptions } from "../../src/daemon/store.js";
import { DRAIN_QUERIES, type OutboundRecord } from "../../src/daemon/store-outbox.js";
import { tempStores } from "./helpers/store.js";

const NOW = 1_700_000_000_000;
const OPTIONS: StoreOptions = { inboxMaxItems: 1_000, outboxMaxItems: 200_000, dedupWindowMs: 7 * 86_400_000 };
const { open: openStore, atVersion, cleanups } = tempStores(OPTIONS);

function put(store: Store, outboundId: string, to: string, priority: Priority = "normal"): void {
  const result = store.outbox.enqueue(
    {
      outboundId,
      to,
      toRelay: null,
      body: JSON.stringify({ payload: outboundId }),
      priority,
      idempotencyKey: `ob-${outboundId}`,
      correlationId: `corr-${outboundId}`,
      expiresAt: NOW + 3_600_000,
    },
    NOW,
  );
  expect(result.ok).toBe(true);
}

const due = (store: Store, now = NOW) => store.outbox.due(now, 100).map((record) => record.outboundId);

function record(store: Store, outboundId: string): OutboundRecord {
  const found = store.outbox.get(outboundId);
  if (!found) throw new Error(`no outbound ${outboundId}`);
  return found;
}

function failedReceipt(outboundId: string): Receipt {
  return {
    receiptId: `r-${outboundId}`,
    messageId: outboundId,
    correlationId: `corr-${outboundId}`,
    status: "failed",
    reason: "not_found",
    recipient: "bob-agent",
    at: NOW,
    attempts: 1,
    enqueuedAt: NOW,
  };
}

describe("outbox streams: first in, first out per (recipient, lane)", () => {
  it("only a stream's head is due; it moves on when the head is sent or fails, and a waiting head holds back its stream only", () => {
    const { store } = openStore();
    put(store, "01A", "bob-agent");
    put(store, "01B", "bob-agent");
    put(store, "01C", "carol-agent");
    put(store, "01D", "bob-agent", "critical");
    put(store, "01E", "bob-agent");
    expect(due(store)).toEqual(["01D", "01A", "01C"]);

    // A head in flight is not due, and neither is anything behind it.
    store.outbox.markSending("01A", NOW);
    expect(due(store)).toEqual(["01D", "01C"]);
    store.outbox.markSent(record(store, "01A"), "msg-a", 1, NOW);
    expect(due(store)).toEqual(["01D", "01B", "01C"]);

    // The head waits out a Retry-After: its stream waits with it, the others do not.
    store.outbox.reschedule(record(store, "01B"), 1, NOW + 5_000, "rate_limited (429)", NOW);
    expect(due(store)).toEqual(["01D", "01C"]);
    expect(store.outbox.nextDueAt()).toBe(NOW);
    store.outbox.markSent(record(store, "01D"), "msg-d", 1, NOW);
    store.outbox.markSent(record(store, "01C"), "msg-c", 1, NOW);
    expect(due(store)).toEqual([]);
    expect(store.outbox.nextDueAt()).toBe(NOW + 5_000);
    expect(due(store, NOW + 5_000)).toEqual(["01B"]);

    // A refused head ends locally; the next one takes its place; the last one ends the stream.
    store.outbox.fail(record(store, "01B"), 2, failedReceipt("01B"), NOW + 5_000);
    expect(due(store, NOW + 5_000)).toEqual(["01E"]);
    store.outbox.markSent(record(store, "01E"), "msg-e", 1, NOW + 5_000);
    expect(due(store, NOW + 5_000)).toEqual([]);
    expect(store.outbox.nextDueAt()).toBeNull();

    // A new message to a finished stream is its head at once.
    put(store, "01F", "bob-agent");
    expect(due(store, NOW + 5_000)).toEqual(["01F"]);
  });

  it("reads the due heads, their next due time and the expired ones by index, not by scanning the outbox", () => {
    const { store, dir } = openStore();
    put(store, "01A", "bob-agent");
    const db = new Database(join(dir, STORE_FILE_NAME), { readonly: true });
    cleanups.push(() => db.close());
    const parameters: Record<keyof typeof DRAIN_QUERIES, unknown[]> = {
      due: [NOW, 10],
      nextDueAt: [],
      expired: [NOW],
      streamHead: ["bob-agent", 1],
    };
    for (const [name, sql] of Object.entries(DRAIN_QUERIES)) {
      const details = db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...parameters[name as keyof typeof DRAIN_QUERIES])
        .map((row) => (row as { detail: string }).detail);
      // A SEARCH is an index seek; a SCAN of outbox would read every row. outbox_streams may be
      // scanned: it has one row per (recipient, lane) with something unfinished.
      expect(
        details.some((detail) => /^SCAN outbox\b/.test(detail)),
        `${name}: ${details.join(" | ")}`,
      ).toBe(false);
      expect(
        details.some((detail) => /^SEARCH outbox\b/.test(detail)),
        `${name}: ${details.join(" | ")}`,
      ).toBe(true);
    }
  });

  it("migrates a version-2 store: each queued stream gets its oldest unfinished message as head", () => {
    const dir = atVersion(2, (db) => {
      const insert = db.prepare(
        `INSERT INTO outbox (outbound_id, to_agent, body, priority_rank, idempotency_key, correlation_id, state,
           next_attempt_at, created_at, updated_at, expires_at, message_id)
         VALUES (@id, @to, '{"payload":1}', @rank, 'ob-' || @id, 'corr-' || @id, @state, @now, @now, @now, @now + 3600000, @messageId)`,
      );
      const row = { rank: 1, state: "queued", now: NOW, messageId: null };
      insert.run({ ...row, id: "01A", to: "bob-agent", state: "sent", messageId: "msg-a" });
      insert.run({ ...row, id: "01B", to: "bob-agent" });
      insert.run({ ...row, id: "01C", to: "carol-agent", rank: 2 });
    });
    const reopened = Store.open(dir, OPTIONS);
    cleanups.push(() => reopened.close());
    expect(due(reopened)).toEqual(["01B", "01C"]);
  });
});
