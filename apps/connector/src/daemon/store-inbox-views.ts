import type Database from "better-sqlite3";
import { z } from "zod";
import type { InboxMessage } from "./store-inbox-items.js";

const messageRowSchema = z.object({
  id: z.string(),
  correlation_id: z.string().nullable(),
  json: z.string().nullable(),
  state: z.enum(["pending", "delivered"]),
  attempts: z.number(),
  received_at: z.number(),
  finished_at: z.number().nullable(),
  next_attempt_at: z.number(),
  last_error: z.string().nullable(),
});

/** What status and trace read of the inbox: part of the inbox's module, never written through. */
export class InboxViews {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      pending: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending'"),
      oldestPending: db.prepare<[], { at: number | null }>(
        "SELECT MIN(received_at) AS at FROM inbox WHERE state = 'pending'",
      ),
      message: db.prepare<[string], Record<string, unknown>>(
        "SELECT id, correlation_id, json, state, attempts, received_at, finished_at, next_attempt_at, last_error FROM inbox WHERE id = ? AND kind = 'message'",
      ),
    };
  }

  /** Items (messages and receipts) still waiting for a hook. */
  pendingCount(): number {
    return this.statements.pending.get()?.n ?? 0;
  }

  /** When the oldest undelivered item arrived. */
  oldestPendingAt(): number | null {
    return this.statements.oldestPending.get()?.at ?? null;
  }

  /** The received message `id` (not a receipt) as its inbox row stands. */
  message(id: string): InboxMessage | undefined {
    const raw = this.statements.message.get(id);
    if (!raw) return undefined;
    const row = messageRowSchema.parse(raw);
    return {
      id: row.id,
      correlationId: row.correlation_id,
      json: row.json,
      state: row.state,
      attempts: row.attempts,
      receivedAt: row.received_at,
      finishedAt: row.finished_at,
      nextAttemptAt: row.next_attempt_at,
      lastError: row.last_error,
    };
  }
}
