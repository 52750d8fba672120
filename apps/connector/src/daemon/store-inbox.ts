import type { DeliverItem } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { type DeadLetterEntry, type DeadLetterStore, type HeldItem, heldRowSchema } from "./store-dead-letters.js";
import {
  describeItem,
  hopName,
  type InboxEntry,
  parseStoredItem,
  type StoreInboundResult,
} from "./store-inbox-items.js";
import { InboxLanes, inboxRowSchema } from "./store-inbox-lanes.js";
import { counts, PendingMessages, type RowStanding } from "./store-inbox-pending.js";
import type { MetaStore } from "./store-meta.js";
import type { ReceiptStore } from "./store-receipts.js";
import type { ReceivedStore } from "./store-received.js";
import type { PendingReport, ReportOutcome, ReportStore } from "./store-reports.js";
import type { TraceStore } from "./store-trace.js";

export type { DeadLetterEntry } from "./store-dead-letters.js";
export type { InboxEntry, InboxMessage, StoreInboundResult } from "./store-inbox-items.js";
export type { PendingReport, ReportOutcome } from "./store-reports.js";

/** What an inbox change writes beside the inbox, each through its owner, in the inbox's transaction. */
export interface InboxNeighbours {
  /** Senders and conversations of received messages, for replies (PROTOCOL.md §8). */
  received: ReceivedStore;
  receipts: ReceiptStore;
  reports: ReportStore;
  deadLetters: DeadLetterStore;
  trace: TraceStore;
  meta: Pick<MetaStore, "set">;
}

/**
 * The durable inbox (`inbox`, and `seen`, the ids taken in within the dedup window): items from
 * the relay (and local receipts) waiting for the agent's hooks.
 */
export class InboxStore {
  private readonly statements;
  readonly lanes: InboxLanes;
  readonly received: ReceivedStore;
  private readonly pending: PendingMessages;

  constructor(
    private readonly db: Database.Database,
    private readonly neighbours: InboxNeighbours,
    private readonly options: { maxItems: number; dedupWindowMs: number },
  ) {
    this.lanes = new InboxLanes(db);
    this.received = neighbours.received;
    this.pending = new PendingMessages(db);
    this.statements = {
      seenAt: db.prepare<[string], { seen_at: number }>("SELECT seen_at FROM seen WHERE id = ?"),
      markSeen: db.prepare(
        "INSERT INTO seen (id, seen_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
      ),
      // A new id is one insert; an id already in the inbox (rare: taken in again past the dedup
      // window) is read first, so the cap's count knows what the row was, then started afresh.
      insert: db.prepare(
        `INSERT INTO inbox (id, kind, correlation_id, message_id, priority_rank, json, state, attempts, next_attempt_at, received_at)
         VALUES (@id, @kind, @correlationId, @messageId, @rank, @json, 'pending', 0, @now, @now)
         ON CONFLICT (id) DO NOTHING`,
      ),
      reinsert: db.prepare(
        `UPDATE inbox SET kind = @kind, json = @json, state = 'pending', attempts = 0, next_attempt_at = @now,
           received_at = @now, finished_at = NULL, last_error = NULL WHERE id = @id`,
      ),
      standing: db.prepare<[string], RowStanding>("SELECT kind, state FROM inbox WHERE id = ?"),
      // What a pick starts: the whole row, by the rowid the lanes picked it by.
      entry: db.prepare<[number], Record<string, unknown>>(
        "SELECT id, kind, correlation_id, message_id, json, attempts, received_at FROM inbox WHERE rowid = ?",
      ),
      get: db.prepare<[string], Record<string, unknown>>(
        "SELECT id, kind, correlation_id, message_id, json, attempts, received_at FROM inbox WHERE id = ?",
      ),
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
      defer: db.prepare("UPDATE inbox SET next_attempt_at = ? WHERE id = ? AND state = 'pending'"),
      wakePending: db.prepare("UPDATE inbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?"),
      delete: db.prepare<[string], RowStanding>("DELETE FROM inbox WHERE id = ? RETURNING kind, state"),
      // A replayed dead letter keeps its arrival time; an inbox row of the same id is started afresh.
      restore: db.prepare(
        `INSERT INTO inbox (id, kind, correlation_id, message_id, priority_rank, json, state, attempts, next_attempt_at, received_at)
         VALUES (@id, @kind, @correlationId, @messageId, @priorityRank, @json, 'pending', 0, @now, @receivedAt)
         ON CONFLICT (id) DO UPDATE SET json = excluded.json, state = 'pending', attempts = 0,
           next_attempt_at = excluded.next_attempt_at, finished_at = NULL, last_error = NULL`,
      ),
      pruneSeen: db.prepare<[number]>("DELETE FROM seen WHERE seen_at < ?"),
      pruneDelivered: db.prepare<[number]>("DELETE FROM inbox WHERE state = 'delivered' AND finished_at < ?"),
    };
  }

  /**
   * Commit a delivered batch in ONE transaction and return what to acknowledge.
   * If this throws, nothing of the batch was stored and nothing may be acked.
   */
  storeInbound(items: readonly DeliverItem[], now: number): StoreInboundResult {
    return this.pending.transaction((): StoreInboundResult => {
      const result: StoreInboundResult = { ack: [], nackInboxFull: [], stored: [], duplicates: [] };
      for (const item of items) {
        const seen = this.statements.seenAt.get(item.id);
        if (seen && seen.seen_at >= now - this.options.dedupWindowMs) {
          result.ack.push(item.id);
          result.duplicates.push(item.id);
          continue;
        }
        if (item.kind === "message" && this.pending.count() >= this.options.maxItems) {
          result.nackInboxFull.push(item.id);
          continue;
        }
        this.insertItem(item, now);
        result.ack.push(item.id);
        result.stored.push(item);
      }
      const last = items[items.length - 1];
      if (last && result.ack.includes(last.id)) this.neighbours.meta.set("lastReceivedId", last.id);
      return result;
    });
  }

  /** Put a locally made item (a local receipt) into the inbox; call inside the caller's transaction. */
  insertItem(item: DeliverItem, now: number): void {
    const { correlationId, messageId, rank } = describeItem(item);
    this.statements.markSeen.run(item.id, now);
    const row = { id: item.id, kind: item.kind, correlationId, messageId, rank, json: JSON.stringify(item), now };
    const added = item.kind === "message" ? 1 : 0;
    if (this.statements.insert.run(row).changes === 1) {
      this.pending.changed(added);
    } else {
      const before = this.statements.standing.get(item.id);
      this.statements.reinsert.run(row);
      this.pending.changed(added - counts(before));
    }
    if (item.kind === "message") this.neighbours.received.remember(item, now);
    if (item.kind === "receipt") this.neighbours.receipts.record(item.receipt, now);
    const hop = item.kind === "message" ? "inbox_stored" : `receipt_${item.receipt.status}`;
    this.neighbours.trace.record(correlationId, messageId, hop, now, null);
  }

  /**
   * Pending items due now, in lane order then arrival, skipping ids already in hand. Within a
   * lane (kind and priority) nothing passes an earlier item that is waiting to be retried.
   */
  due(now: number, limit: number, busy: ReadonlySet<string>): InboxEntry[] {
    if (limit <= 0) return [];
    return this.lanes.due(now, limit, busy).map((seq) => {
      const row = inboxRowSchema.parse(this.statements.entry.get(seq));
      return {
        id: row.id,
        kind: row.kind,
        correlationId: row.correlation_id,
        messageId: row.message_id,
        attempts: row.attempts,
        receivedAt: row.received_at,
        item: parseStoredItem(row.json),
      };
    });
  }

  /** When the next item can be due: the earliest retry time among the lanes' first items. */
  nextDueAt(): number | null {
    return this.lanes.nextDueAt();
  }

  /** A hop of an entry's trip through the agent's hooks (named apart for receipts, see hopName). */
  private traceHook(entry: InboxEntry, hop: string, now: number, detail: string | null): void {
    this.neighbours.trace.record(entry.correlationId, entry.messageId, hopName(entry.kind, hop), now, detail);
  }

  markDelivered(entry: InboxEntry, attempts: number, now: number): void {
    this.pending.transaction(() => {
      const kind = this.statements.deliveredPending.get(attempts, now, entry.id);
      if (kind === undefined) this.statements.delivered.run(attempts, now, entry.id);
      else this.pending.changed(-counts({ kind, state: "pending" }));
      if (entry.kind === "message") this.neighbours.reports.add(entry.id, "processed", null, now);
      this.traceHook(entry, "hook_delivered", now, null);
    });
  }

  reschedule(entry: InboxEntry, attempts: number, nextAttemptAt: number, error: string, now: number): void {
    this.db
      .transaction(() => {
        this.statements.reschedule.run(attempts, nextAttemptAt, error, entry.id);
        this.traceHook(entry, "hook_retry", now, error);
      })
      .immediate();
  }

  /** Push an item back without counting an attempt (the breaker was open, nothing was tried). */
  defer(id: string, nextAttemptAt: number): void {
    this.statements.defer.run(nextAttemptAt, id);
  }

  /** Every waiting item due at `now` (a worker starting afresh); returns how many were waiting. */
  wakePending(now: number): number {
    return this.statements.wakePending.run(now, now).changes;
  }

  /** Move an item the hooks never took from the inbox to the dead letters, in one transaction. */
  deadLetter(
    entry: InboxEntry,
    attempts: number,
    reason: string,
    outcome: Exclude<ReportOutcome, "processed">,
    now: number,
  ): void {
    this.pending.transaction(() => {
      const held = this.held(entry.id);
      if (held) this.neighbours.deadLetters.add(held, reason, attempts, now);
      this.pending.changed(-counts(this.statements.delete.get(entry.id)));
      if (entry.kind === "message") this.neighbours.reports.add(entry.id, outcome, reason.slice(0, 500), now);
      this.traceHook(entry, "dead_lettered", now, reason);
    });
  }

  private held(id: string): HeldItem | undefined {
    const raw = this.statements.held.get(id);
    return raw ? heldRowSchema.parse(raw) : undefined;
  }

  pendingReports(limit: number): PendingReport[] {
    return this.neighbours.reports.list(limit);
  }

  reportSent(id: string): void {
    this.neighbours.reports.remove(id);
  }

  listDeadLetters(limit: number): DeadLetterEntry[] {
    return this.neighbours.deadLetters.list(limit);
  }

  /** Move dead letters (all, or the given ids) back into the inbox for another round of hook delivery. */
  replayDeadLetters(ids: readonly string[] | undefined, now: number): string[] {
    const { deadLetters, trace } = this.neighbours;
    return this.pending.transaction(() => {
      const wanted = ids ?? deadLetters.ids();
      const replayed: string[] = [];
      for (const id of wanted) {
        const held = deadLetters.held(id);
        if (!held) continue;
        const before = this.statements.standing.get(id);
        this.statements.restore.run({ ...held, now });
        deadLetters.remove(id);
        const row = inboxRowSchema.parse(this.statements.get.get(id));
        this.pending.changed(counts({ kind: row.kind, state: "pending" }) - counts(before));
        trace.record(row.correlation_id, row.message_id, hopName(row.kind, "dead_letter_replayed"), now, null);
        replayed.push(id);
      }
      return replayed;
    });
  }

  /** Forget ids seen before `seenBefore` and delivered rows finished before `finishedBefore`; in the prune transaction. */
  prune(seenBefore: number, finishedBefore: number): void {
    this.statements.pruneSeen.run(seenBefore);
    this.statements.pruneDelivered.run(finishedBefore);
  }
}
