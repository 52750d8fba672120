import { PRIORITY_RANK } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { z } from "zod";
import type { IdSet } from "./store-inbox-items.js";

/**
 * The inbox's lanes: one per (kind, priority rank), six in all. Each lane is first in, first out
 * by rowid (arrival): an item waiting out a retry backoff holds back the later items of its lane,
 * so a hook outage never reorders a lane, while the other lanes keep moving.
 *
 * Every lookup is an `ORDER BY rowid LIMIT n` on the index (state, kind, priority_rank), whose
 * entries are in rowid order within a lane: the cost does not grow with the queue's depth.
 */
const KINDS = ["message", "receipt"] as const;
/** Lower rank first; within a rank, message and receipt lanes merge by arrival. */
const RANKS = [...new Set(Object.values(PRIORITY_RANK))].sort((a, b) => a - b);
const LANES = KINDS.flatMap((kind) => RANKS.map((rank) => ({ kind, rank })));

/** An inbox row as the inbox reads it (the payload stays JSON text until it is used). */
export const inboxRowSchema = z.object({
  id: z.string(),
  kind: z.enum(["message", "receipt"]),
  correlation_id: z.string().nullable(),
  message_id: z.string().nullable(),
  json: z.string().nullable(),
  attempts: z.number(),
  received_at: z.number(),
});

/** A lane row as the pick reads it: rowid, id, next_attempt_at (no payload; the table is STRICT). */
type FrontRow = [number, string, number];

function frontRow(raw: unknown[]): FrontRow {
  const [seq, id, nextAttemptAt] = raw;
  if (typeof seq !== "number" || typeof id !== "string" || typeof nextAttemptAt !== "number") {
    throw new Error("inbox lane row is not (rowid, id, next_attempt_at)");
  }
  return [seq, id, nextAttemptAt];
}

/** Only what the pick needs: the payload is read for the items actually started (InboxStore.due). */
const frontSql = (limit: number) =>
  `SELECT rowid, id, next_attempt_at FROM inbox WHERE state = 'pending' AND kind = @kind AND priority_rank = @rank
   ORDER BY rowid LIMIT ${limit}`;

/** Front statements kept, one per LIMIT asked for; past this many the set is started afresh. */
const MAX_FRONT_STATEMENTS = 64;

type FrontStatement = Database.Statement<{ kind: string; rank: number }, unknown[]>;

export class InboxLanes {
  /**
   * The LIMIT is written into the SQL, not bound: better-sqlite3's SQLite (built with STAT4)
   * prepares a statement again when a bound LIMIT changes the plan's inputs, about 5 µs a call,
   * more than the lookup itself. A pick asks for few distinct limits (free slots plus busy ids).
   */
  private readonly fronts = new Map<number, FrontStatement>();
  private readonly head;

  constructor(private readonly db: Database.Database) {
    this.head = db
      .prepare<{ kind: string; rank: number }, unknown>(
        `SELECT next_attempt_at FROM inbox WHERE state = 'pending' AND kind = @kind AND priority_rank = @rank
       ORDER BY rowid LIMIT 1`,
      )
      .pluck();
  }

  /**
   * The (rowid, id) of up to `limit` pending items due at `now` and not in `busy`, lane order
   * (priority rank) then arrival. A lane contributes its items from the front up to, not including, its
   * first one not yet due (busy or not). Lanes of a later rank are not read once `limit` is met.
   */
  due(now: number, limit: number, busy: IdSet): [number, string][] {
    const picked: [number, string][] = [];
    for (const rank of RANKS) {
      const need = limit - picked.length;
      if (need <= 0) break;
      const found: [number, string][] = [];
      for (const kind of KINDS) this.lane(kind, rank, now, need, busy, found);
      // Each lane's part is in rowid order; two lanes of one rank merge by arrival.
      if (found.length > 1) found.sort((a, b) => a[0] - b[0]);
      for (const row of found.slice(0, need)) picked.push(row);
    }
    return picked;
  }

  /** Up to `need` items from one lane's due front, skipping `busy` (in flight, so at the front). */
  private lane(kind: string, rank: number, now: number, need: number, busy: IdSet, into: [number, string][]) {
    let taken = 0;
    for (const raw of this.front(need + busy.size).all({ kind, rank })) {
      const [seq, id, nextAttemptAt] = frontRow(raw);
      if (nextAttemptAt > now) return;
      if (busy.has(id)) continue;
      into.push([seq, id]);
      if (++taken >= need) return;
    }
  }

  private front(limit: number): FrontStatement {
    let statement = this.fronts.get(limit);
    if (statement === undefined) {
      if (this.fronts.size >= MAX_FRONT_STATEMENTS) this.fronts.clear();
      statement = this.db.prepare<{ kind: string; rank: number }, unknown[]>(frontSql(limit)).raw();
      this.fronts.set(limit, statement);
    }
    return statement;
  }

  /** The earliest moment a lane can move: the earliest due time among the six lane heads. */
  nextDueAt(): number | null {
    let earliest: number | null = null;
    for (const { kind, rank } of LANES) {
      const at = this.head.get({ kind, rank });
      if (at === undefined) continue;
      if (typeof at !== "number") throw new Error("inbox lane head has no next_attempt_at");
      if (earliest === null || at < earliest) earliest = at;
    }
    return earliest;
  }

  /** The statements, for asserting in tests that they stay index lookups. */
  get sql(): string[] {
    return [this.front(1).source, this.front(100).source, this.head.source];
  }
}
