import { PRIORITY_RANK } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { z } from "zod";

/**
 * The inbox's lanes: one per (kind, priority rank), six in all. Each lane is first in, first out
 * by rowid (arrival): an item waiting out a retry backoff holds back the later items of its lane,
 * so a hook outage never reorders a lane, while the other lanes keep moving.
 *
 * Every lookup is an `ORDER BY rowid LIMIT n` on the index (state, kind, priority_rank), whose
 * entries are in rowid order within a lane: the cost does not grow with the queue's depth.
 */
const LANES = (["message", "receipt"] as const).flatMap((kind) =>
  Object.values(PRIORITY_RANK).map((rank) => ({ kind, rank })),
);

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

/** The same, with where it stands in its lane. */
export const laneRowSchema = inboxRowSchema.extend({
  seq: z.number(),
  priority_rank: z.number(),
  next_attempt_at: z.number(),
});
export type LaneRow = z.infer<typeof laneRowSchema>;

const headSchema = z.object({ next_attempt_at: z.number() });

export class InboxLanes {
  private readonly front;
  private readonly head;

  constructor(db: Database.Database) {
    this.front = db.prepare<{ kind: string; rank: number; limit: number }, Record<string, unknown>>(
      `SELECT rowid AS seq, id, kind, correlation_id, message_id, json, attempts, received_at, priority_rank, next_attempt_at
       FROM inbox WHERE state = 'pending' AND kind = @kind AND priority_rank = @rank ORDER BY rowid LIMIT @limit`,
    );
    this.head = db.prepare<{ kind: string; rank: number }, Record<string, unknown>>(
      `SELECT next_attempt_at FROM inbox WHERE state = 'pending' AND kind = @kind AND priority_rank = @rank
       ORDER BY rowid LIMIT 1`,
    );
  }

  /**
   * Up to `limit` pending items due at `now`, lane order (priority rank) then arrival. A lane
   * contributes its items from the front up to, not including, its first one not yet due.
   */
  due(now: number, limit: number): LaneRow[] {
    if (limit <= 0) return [];
    const rows: LaneRow[] = [];
    for (const { kind, rank } of LANES) {
      for (const raw of this.front.all({ kind, rank, limit })) {
        const row = laneRowSchema.parse(raw);
        if (row.next_attempt_at > now) break;
        rows.push(row);
      }
    }
    rows.sort((a, b) => a.priority_rank - b.priority_rank || a.seq - b.seq);
    return rows.slice(0, limit);
  }

  /** The earliest moment a lane can move: the earliest due time among the six lane heads. */
  nextDueAt(): number | null {
    let earliest: number | null = null;
    for (const { kind, rank } of LANES) {
      const raw = this.head.get({ kind, rank });
      if (raw === undefined) continue;
      const at = headSchema.parse(raw).next_attempt_at;
      if (earliest === null || at < earliest) earliest = at;
    }
    return earliest;
  }

  /** The statements, for asserting in tests that they stay index lookups. */
  get sql(): string[] {
    return [this.front.source, this.head.source];
  }
}
