import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { STORE_FILE_NAME } from "../../src/daemon/store.js";
import { messageItem, receiptItem } from "./helpers/common.js";
import { tempStores } from "./helpers/store.js";

const NOW = 1_700_000_000_000;
const { open, cleanups } = tempStores({ inboxMaxItems: 10_000 });

interface Row {
  id: string;
  seq: number;
  kind: string;
  rank: number;
  at: number;
}

/**
 * The lane rule read straight off the whole table: per (kind, rank) lane in rowid order, the
 * front up to its first item not yet due; all lanes by rank then arrival; busy ids skipped.
 */
function expected(rows: Row[], now: number, limit: number, busy: ReadonlySet<string>): string[] {
  const lanes = new Map<string, Row[]>();
  for (const row of rows) lanes.set(`${row.kind}/${row.rank}`, [...(lanes.get(`${row.kind}/${row.rank}`) ?? []), row]);
  const due: Row[] = [];
  for (const lane of lanes.values()) {
    for (const row of lane.sort((a, b) => a.seq - b.seq)) {
      if (row.at > now) break;
      due.push(row);
    }
  }
  return due
    .sort((a, b) => a.rank - b.rank || a.seq - b.seq)
    .filter((row) => !busy.has(row.id))
    .slice(0, limit)
    .map((row) => row.id);
}

describe("inbox lanes against the rule read off the whole table", () => {
  it("agree after any sequence of arrivals, retries, deferrals and deliveries", () => {
    const { store, dir } = open();
    const db = new Database(join(dir, STORE_FILE_NAME), { readonly: true });
    cleanups.push(() => db.close());
    const pending = db.prepare(
      "SELECT id, rowid AS seq, kind, priority_rank AS rank, next_attempt_at AS at FROM inbox WHERE state = 'pending'",
    );
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return (seed >>> 16) % n;
    };
    const priorities = ["critical", "normal", "low"] as const;
    let compared = 0;
    for (let step = 0; step < 300; step++) {
      const now = NOW + step * 100;
      const batch = Array.from({ length: random(4) }, () =>
        random(4) === 0 ? receiptItem() : messageItem({ priority: priorities[random(3)] }),
      );
      store.storeInbound(batch as never, now);
      const all = store.inbox.due(now + 1_000_000, 10_000, new Set());
      const target = all[random(Math.max(all.length, 1))];
      const op = random(4);
      if (target && op === 0) store.inbox.reschedule(target, 1, now + random(3_000), "hook_status_500", now);
      else if (target && op === 1) store.inbox.defer(target.id, now + random(3_000));
      else if (target && op === 2) store.inbox.markDelivered(target, 1, now);
      const rows = pending.all() as Row[];
      const busy = new Set(rows.filter(() => random(5) === 0).map((row) => row.id));
      const limit = 1 + random(6);
      const got = store.inbox.due(now, limit, busy).map((entry) => entry.id);
      expect(got).toEqual(expected(rows, now, limit, busy));
      if (got.length > 0) compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });
});
