import type { ProcessedItem } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { z } from "zod";

export type ReportOutcome = ProcessedItem["outcome"];

export interface PendingReport {
  id: string;
  outcome: ReportOutcome;
  reason: string | null;
}

const reportRowSchema = z.object({
  id: z.string(),
  outcome: z.enum(["processed", "failed", "dead_lettered"]),
  reason: z.string().nullable(),
});

/**
 * The `pending_reports` table: the outcome of each message's hook delivery, kept until the relay
 * has been told (a `processed` report), written by the inbox in the transaction that ends the item.
 */
export class ReportStore {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      add: db.prepare<[string, ReportOutcome, string | null, number]>(
        "INSERT INTO pending_reports (id, outcome, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, reason = excluded.reason",
      ),
      list: db.prepare<[number], Record<string, unknown>>(
        "SELECT id, outcome, reason FROM pending_reports ORDER BY created_at LIMIT ?",
      ),
      remove: db.prepare<[string]>("DELETE FROM pending_reports WHERE id = ?"),
      count: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM pending_reports"),
      prune: db.prepare<[number]>("DELETE FROM pending_reports WHERE created_at < ?"),
    };
  }

  add(id: string, outcome: ReportOutcome, reason: string | null, now: number): void {
    this.statements.add.run(id, outcome, reason, now);
  }

  list(limit: number): PendingReport[] {
    return this.statements.list.all(limit).map((row) => reportRowSchema.parse(row));
  }

  /** The relay has the report. */
  remove(id: string): void {
    this.statements.remove.run(id);
  }

  count(): number {
    return this.statements.count.get()?.n ?? 0;
  }

  prune(before: number): void {
    this.statements.prune.run(before);
  }
}
