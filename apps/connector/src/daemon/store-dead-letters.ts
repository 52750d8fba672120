import type Database from "better-sqlite3";
import { z } from "zod";

export interface DeadLetterEntry {
  id: string;
  kind: string;
  correlationId: string | null;
  messageId: string | null;
  reason: string;
  attempts: number;
  receivedAt: number;
  deadAt: number;
  item: unknown;
}

/** An item as it moves between the inbox and the dead letters: what both keep of it. */
export interface HeldItem {
  id: string;
  kind: string;
  correlationId: string | null;
  messageId: string | null;
  priorityRank: number;
  /** The item's JSON; null once an inbox row has dropped it (a dead letter keeps `null` then). */
  json: string | null;
  receivedAt: number;
}

/** A dead-lettered message as `clawrelay trace` shows it. */
export interface DeadMessage {
  id: string;
  correlationId: string | null;
  json: string;
  reason: string;
  attempts: number;
  receivedAt: number;
  deadAt: number;
}

const deadLetterRowSchema = z.object({
  id: z.string(),
  kind: z.string(),
  correlation_id: z.string().nullable(),
  message_id: z.string().nullable(),
  json: z.string(),
  reason: z.string(),
  attempts: z.number(),
  received_at: z.number(),
  dead_at: z.number(),
});
/** An inbox or dead-letter row (`id, kind, correlation_id, message_id, priority_rank, json, received_at`). */
export const heldRowSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    correlation_id: z.string().nullable(),
    message_id: z.string().nullable(),
    priority_rank: z.number(),
    json: z.string().nullable(),
    received_at: z.number(),
  })
  .transform(
    (row): HeldItem => ({
      id: row.id,
      kind: row.kind,
      correlationId: row.correlation_id,
      messageId: row.message_id,
      priorityRank: row.priority_rank,
      json: row.json,
      receivedAt: row.received_at,
    }),
  );

/**
 * The `dead_letters` table: items the agent's hooks never took, kept for `clawrelay dead-letters`
 * and replay. The inbox moves items in and out of it, inside its own transactions.
 */
export class DeadLetterStore {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      add: db.prepare(
        `INSERT INTO dead_letters (id, kind, correlation_id, message_id, priority_rank, json, reason, attempts, received_at, dead_at)
         VALUES (@id, @kind, @correlationId, @messageId, @priorityRank, COALESCE(@json, 'null'), @reason, @attempts, @receivedAt, @now)
         ON CONFLICT (id) DO UPDATE SET json = excluded.json, reason = excluded.reason, attempts = excluded.attempts,
           dead_at = excluded.dead_at`,
      ),
      held: db.prepare<[string], Record<string, unknown>>(
        "SELECT id, kind, correlation_id, message_id, priority_rank, json, received_at FROM dead_letters WHERE id = ?",
      ),
      message: db.prepare<[string], Record<string, unknown>>(
        "SELECT id, kind, correlation_id, message_id, json, reason, attempts, received_at, dead_at FROM dead_letters WHERE id = ? AND kind = 'message'",
      ),
      list: db.prepare<[number], Record<string, unknown>>(
        "SELECT id, kind, correlation_id, message_id, json, reason, attempts, received_at, dead_at FROM dead_letters ORDER BY dead_at DESC LIMIT ?",
      ),
      allIds: db.prepare<[], { id: string }>("SELECT id FROM dead_letters ORDER BY dead_at"),
      remove: db.prepare<[string]>("DELETE FROM dead_letters WHERE id = ?"),
      count: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM dead_letters"),
    };
  }

  /** Keep an item that failed for good (again: a repeat replaces the reason); call in the inbox's transaction. */
  add(item: HeldItem, reason: string, attempts: number, now: number): void {
    this.statements.add.run({ ...item, reason, attempts, now });
  }

  /** The dead letter `id` as the inbox takes it back for a replay. */
  held(id: string): HeldItem | undefined {
    const raw = this.statements.held.get(id);
    return raw ? heldRowSchema.parse(raw) : undefined;
  }

  /** The dead-lettered message `id` (not a receipt), for the trace. */
  message(id: string): DeadMessage | undefined {
    const raw = this.statements.message.get(id);
    if (!raw) return undefined;
    const row = deadLetterRowSchema.parse(raw);
    return {
      id: row.id,
      correlationId: row.correlation_id,
      json: row.json,
      reason: row.reason,
      attempts: row.attempts,
      receivedAt: row.received_at,
      deadAt: row.dead_at,
    };
  }

  list(limit: number): DeadLetterEntry[] {
    return this.statements.list.all(limit).map((raw) => {
      const row = deadLetterRowSchema.parse(raw);
      let item: unknown = null;
      try {
        item = JSON.parse(row.json);
      } catch {
        item = null;
      }
      return {
        id: row.id,
        kind: row.kind,
        correlationId: row.correlation_id,
        messageId: row.message_id,
        reason: row.reason,
        attempts: row.attempts,
        receivedAt: row.received_at,
        deadAt: row.dead_at,
        item,
      };
    });
  }

  /** Every dead letter's id, oldest first. */
  ids(): string[] {
    return this.statements.allIds.all().map((row) => row.id);
  }

  remove(id: string): void {
    this.statements.remove.run(id);
  }

  count(): number {
    return this.statements.count.get()?.n ?? 0;
  }
}
