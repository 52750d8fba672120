import type Database from "better-sqlite3";
import { type DeadLetterStore, type HeldItem, heldRowSchema } from "./store-dead-letters.js";
import { hopName, type InboxEntry, type InboxOutcome } from "./store-inbox-items.js";
import { counts, type PendingMessages, type RowStanding } from "./store-inbox-pending.js";
import type { RecentItems } from "./store-inbox-recent.js";
import type { ReportStore } from "./store-reports.js";
import type { TraceStore } from "./store-trace.js";

/** The inbox's part that records what became of an item at the hooks: delivered, retried, dead-lettered. */
export class InboxOutcomes {
  private readonly statements;

  constructor(
    db: Database.Database,
    private readonly pending: PendingMessages,
    private readonly recent: RecentItems,
    private readonly neighbours: { reports: ReportStore; deadLetters: DeadLetterStore; trace: TraceStore },
  ) {
    this.statements = {
      held: db.prepare<[string], Record<string, unknown>>(
        "SELECT id, kind, correlation_id, message_id, priority_rank, json, received_at FROM inbox WHERE id = ?",
      ),
      // Pending → delivered names the row's kind, for the count; a row no longer pending is
      // written by `delivered` as before.
      deliveredPending: db
        .prepare<[number, number, string], string>(
          `UPDATE inbox SET state = 'delivered', json = NULL, attempts = ?, finished_at = ?, last_error = NULL
           WHERE id = ? AND state = 'pending' RETURNING kind`,
        )
        .pluck(),
      delivered: db.prepare(
        "UPDATE inbox SET state = 'delivered', json = NULL, attempts = ?, finished_at = ?, last_error = NULL WHERE id = ?",
      ),
      reschedule: db.prepare("UPDATE inbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?"),
      delete: db.prepare<[string], RowStanding>("DELETE FROM inbox WHERE id = ? RETURNING kind, state"),
    };
  }

  /**
   * Record the outcomes in ONE inbox transaction: a run of items finished close together costs
   * one commit, not one each (issue 18). Each is written as its own transaction used to write it.
   */
  settle(outcomes: readonly InboxOutcome[]): void {
    this.pending.transaction(() => {
      for (const outcome of outcomes) this.record(outcome);
    });
  }

  private record(outcome: InboxOutcome): void {
    const { entry, attempts, now } = outcome;
    if (outcome.kind === "retry") {
      this.statements.reschedule.run(attempts, outcome.nextAttemptAt, outcome.error, entry.id);
      this.traceHook(entry, "hook_retry", now, outcome.error);
      return;
    }
    this.recent.drop(entry.id);
    if (outcome.kind === "dead_letter") {
      const held = this.held(entry.id);
      if (held) this.neighbours.deadLetters.add(held, outcome.reason, attempts, now);
      this.pending.changed(-counts(this.statements.delete.get(entry.id)));
      if (entry.kind === "message") {
        this.neighbours.reports.add(entry.id, outcome.outcome, outcome.reason.slice(0, 500), now);
      }
      this.traceHook(entry, "dead_lettered", now, outcome.reason);
      return;
    }
    const kind = this.statements.deliveredPending.get(attempts, now, entry.id);
    if (kind === undefined) this.statements.delivered.run(attempts, now, entry.id);
    else this.pending.changed(-counts({ kind, state: "pending" }));
    if (entry.kind === "message") this.neighbours.reports.add(entry.id, "processed", null, now);
    this.traceHook(entry, "hook_delivered", now, null);
  }

  /** A hop of an entry's trip through the agent's hooks (named apart for receipts, see hopName). */
  private traceHook(entry: InboxEntry, hop: string, now: number, detail: string | null): void {
    this.neighbours.trace.record(entry.correlationId, entry.messageId, hopName(entry.kind, hop), now, detail);
  }

  private held(id: string): HeldItem | undefined {
    const raw = this.statements.held.get(id);
    return raw ? heldRowSchema.parse(raw) : undefined;
  }
}
