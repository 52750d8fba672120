import type { DeliverItem } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import type { DeadLetterEntry, DeadLetterStore } from "./store-dead-letters.js";
import {
  describeItem,
  hopName,
  type IdSet,
  type InboxEntry,
  type InboxOutcome,
  parseStoredItem,
  type StoreInboundResult,
} from "./store-inbox-items.js";
import { InboxLanes, inboxRowSchema } from "./store-inbox-lanes.js";
import { InboxOutcomes } from "./store-inbox-outcomes.js";
import { counts, PendingMessages, type RowStanding } from "./store-inbox-pending.js";
import { RecentItems } from "./store-inbox-recent.js";
import { type Relaxed, WaitingOutcomes } from "./store-inbox-waiting.js";
import type { MetaStore } from "./store-meta.js";
import type { ReceiptStore } from "./store-receipts.js";
import type { ReceivedStore } from "./store-received.js";
import type { PendingReport, ReportOutcome, ReportStore } from "./store-reports.js";
import type { TraceStore } from "./store-trace.js";

export type { DeadLetterEntry } from "./store-dead-letters.js";
export type { IdSet, InboxEntry, InboxMessage, InboxOutcome, StoreInboundResult } from "./store-inbox-items.js";
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
  /** Items taken in by this process and not yet picked, so a pick need not parse their rows (see RecentItems). */
  private readonly recent = new RecentItems();
  private readonly outcomes: InboxOutcomes;
  private readonly waiting: WaitingOutcomes;

  constructor(
    private readonly db: Database.Database,
    private readonly neighbours: InboxNeighbours,
    private readonly options: { maxItems: number; dedupWindowMs: number },
    relaxed: Relaxed,
  ) {
    this.lanes = new InboxLanes(db);
    this.received = neighbours.received;
    this.pending = new PendingMessages(db);
    this.outcomes = new InboxOutcomes(db, this.pending, this.recent, neighbours);
    this.waiting = new WaitingOutcomes(relaxed, (outcomes) => this.outcomes.settle(outcomes));
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
      defer: db.prepare("UPDATE inbox SET next_attempt_at = ? WHERE id = ? AND state = 'pending'"),
      wakePending: db.prepare("UPDATE inbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?"),
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
    // Only a commit of its own (not a savepoint a caller may still roll back) makes the rows stand.
    const own = !this.db.inTransaction;
    const sizes: number[] = [];
    // The hook outcomes that wait go first, in this commit (see WaitingOutcomes.within).
    const stored = this.waiting.within((first) =>
      this.pending.transaction((): StoreInboundResult => {
        first();
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
          sizes.push(this.insertItem(item, now));
          result.ack.push(item.id);
          result.stored.push(item);
        }
        const last = items[items.length - 1];
        if (last && result.ack.includes(last.id)) this.neighbours.meta.set("lastReceivedId", last.id);
        return result;
      }),
    );
    if (own) for (const [index, item] of stored.stored.entries()) this.recent.put(item, sizes[index] ?? 0);
    return stored;
  }

  /**
   * Put a locally made item (a local receipt) into the inbox; call inside the caller's transaction.
   * Returns the length of the item's JSON text.
   */
  insertItem(item: DeliverItem, now: number): number {
    const { correlationId, messageId, rank } = describeItem(item);
    this.recent.drop(item.id);
    this.statements.markSeen.run(item.id, now);
    const json = JSON.stringify(item);
    const row = { id: item.id, kind: item.kind, correlationId, messageId, rank, json, now };
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
    return json.length;
  }

  /**
   * Pending items due now, in lane order then arrival, skipping ids already in hand. Within a
   * lane (kind and priority) nothing passes an earlier item that is waiting to be retried.
   */
  due(now: number, limit: number, busy: IdSet): InboxEntry[] {
    if (limit <= 0) return [];
    return this.lanes.due(now, limit, this.waiting.skipping(busy)).map(([seq, id]) => {
      const row = inboxRowSchema.parse(this.statements.entry.get(seq));
      const kept = row.id === id ? this.recent.take(id) : undefined;
      return {
        id: row.id,
        kind: row.kind,
        correlationId: row.correlation_id,
        messageId: row.message_id,
        attempts: row.attempts,
        receivedAt: row.received_at,
        item: kept ?? parseStoredItem(row.json),
      };
    });
  }

  /** When the next item can be due: the earliest retry time among the lanes' first items. */
  nextDueAt(): number | null {
    return this.lanes.nextDueAt();
  }

  markDelivered(entry: InboxEntry, attempts: number, now: number): void {
    this.settle([{ kind: "delivered", entry, attempts, now }]);
  }

  reschedule(entry: InboxEntry, attempts: number, nextAttemptAt: number, error: string, now: number): void {
    this.settle([{ kind: "retry", entry, attempts, nextAttemptAt, error, now }]);
  }

  /**
   * Record hook outcomes, each as markDelivered, reschedule or deadLetter would, all in ONE
   * transaction: a run of items finished close together costs one commit, not one each (issue 18).
   */
  settle(outcomes: readonly InboxOutcome[]): void {
    this.waiting.commit();
    this.outcomes.settle(outcomes);
  }

  /**
   * Record an outcome with others that come close by, in one unsynced commit (see WaitingOutcomes);
   * until then the pick skips its item. `failed` hears of it if its commit fails.
   */
  settleSoon(outcome: InboxOutcome, failed: (error: unknown, entry: InboxEntry) => void): void {
    this.waiting.add(outcome, failed);
  }

  /** Commit the outcomes that wait (settleSoon) now. */
  settleWaiting(): void {
    this.waiting.commit();
  }

  /** The items whose outcome waits to be committed. */
  waitingIds(): string[] {
    return this.waiting.ids();
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
    this.settle([{ kind: "dead_letter", entry, attempts, reason, outcome, now }]);
  }

  pendingReports(limit: number): PendingReport[] {
    this.waiting.commit();
    return this.neighbours.reports.list(limit);
  }

  reportSent(id: string): void {
    this.neighbours.reports.remove(id);
  }

  listDeadLetters(limit: number): DeadLetterEntry[] {
    this.waiting.commit();
    return this.neighbours.deadLetters.list(limit);
  }

  /** Move dead letters (all, or the given ids) back into the inbox for another round of hook delivery. */
  replayDeadLetters(ids: readonly string[] | undefined, now: number): string[] {
    const { deadLetters, trace } = this.neighbours;
    this.waiting.commit();
    return this.pending.transaction(() => {
      const wanted = ids ?? deadLetters.ids();
      const replayed: string[] = [];
      for (const id of wanted) {
        const held = deadLetters.held(id);
        if (!held) continue;
        this.recent.drop(id);
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
