import type Database from "better-sqlite3";
import { z } from "zod";

/** One hop of the local trace, as `GET /v1/outbound/{id}` shows it. */
export interface TraceHop {
  hop: string;
  at: number;
  messageId: string | null;
  detail: string | null;
}

/** A hop with its place in the log and the correlation id it was written under. */
export interface TraceEntry extends TraceHop {
  seq: number;
  correlationId: string | null;
}

const hopRowSchema = z.object({
  seq: z.number(),
  hop: z.string(),
  at: z.number(),
  correlation_id: z.string().nullable(),
  message_id: z.string().nullable(),
  detail: z.string().nullable(),
});

/**
 * The `trace` table: the local hops of every message, appended by the inbox and the outbox inside
 * the transaction that makes the hop true, read by correlation id or message id (both indexed).
 */
export class TraceStore {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      record: db.prepare<[string | null, string | null, string, number, string | null]>(
        "INSERT INTO trace (correlation_id, message_id, hop, at, detail) VALUES (?, ?, ?, ?, ?)",
      ),
      hops: db.prepare<[string, string, number], Record<string, unknown>>(
        "SELECT seq, hop, at, correlation_id, message_id, detail FROM trace WHERE correlation_id = ? OR message_id = ? ORDER BY seq LIMIT ?",
      ),
      prune: db.prepare<[number]>("DELETE FROM trace WHERE at < ?"),
    };
  }

  /** Call inside the transaction of the change the hop records. */
  record(correlationId: string | null, messageId: string | null, hop: string, at: number, detail: string | null): void {
    this.statements.record.run(correlationId, messageId, hop, at, detail);
  }

  /** Hops under `correlationId` or about `messageId`, oldest first; `limit` -1 (SQLite's "no limit") for all. */
  hops(correlationId: string, messageId: string, limit: number): TraceEntry[] {
    return this.statements.hops.all(correlationId, messageId, limit).map((raw) => {
      const row = hopRowSchema.parse(raw);
      return {
        seq: row.seq,
        hop: row.hop,
        at: row.at,
        correlationId: row.correlation_id,
        messageId: row.message_id,
        detail: row.detail,
      };
    });
  }

  prune(before: number): void {
    this.statements.prune.run(before);
  }
}
