import { type DeliverItem, deliverItemSchema, PRIORITY_RANK, type ProcessedItem } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { z } from "zod";
import { InboxLanes, inboxRowSchema } from "./store-inbox-lanes.js";
import { ReceivedStore } from "./store-received.js";

export type ReportOutcome = ProcessedItem["outcome"];

export interface StoreInboundResult {
  /** Ids now durably held (stored now or already seen): acknowledge these, and only after this returns. */
  ack: string[];
  /** Ids refused because the inbox is at its cap. */
  nackInboxFull: string[];
  /** Items newly stored by this call (duplicates excluded). */
  stored: DeliverItem[];
  duplicates: string[];
}

export interface InboxEntry {
  id: string;
  kind: "message" | "receipt";
  correlationId: string | null;
  messageId: string | null;
  attempts: number;
  receivedAt: number;
  /** Undefined when the stored JSON no longer parses (a corrupt row); the worker dead-letters it. */
  item: DeliverItem | undefined;
}

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

export interface PendingReport {
  id: string;
  outcome: ReportOutcome;
  reason: string | null;
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
const reportRowSchema = z.object({
  id: z.string(),
  outcome: z.enum(["processed", "failed", "dead_lettered"]),
  reason: z.string().nullable(),
});

function parseStoredItem(json: string | null): DeliverItem | undefined {
  if (json === null) return undefined;
  try {
    const parsed = deliverItemSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A receipt's hook hops carry the message id of the message it reports on, so they are named
 * apart (`receipt_hook_delivered`, `receipt_hook_dead_lettered`): a trace must not read them as
 * that message reaching an agent. No receipt status starts with `hook_`, so these never collide
 * with the `receipt_<status>` hop of a stored receipt.
 */
function hopName(kind: "message" | "receipt", hop: string): string {
  return kind === "message" ? hop : `receipt_hook_${hop.replace(/^hook_/, "")}`;
}

function describe(item: DeliverItem) {
  if (item.kind === "message") {
    return { correlationId: item.correlationId, messageId: item.id, rank: PRIORITY_RANK[item.priority] };
  }
  // Receipts ride the critical lane, as they do on the relay.
  return { correlationId: item.receipt.correlationId, messageId: item.receipt.messageId, rank: 0 };
}

/** The durable inbox: items from the relay (and local receipts) waiting for the agent's hooks. */
export class InboxStore {
  private readonly statements;
  readonly lanes: InboxLanes;
  /** Senders and conversations of received messages, for replies (PROTOCOL.md §8). */
  readonly received: ReceivedStore;

  constructor(
    private readonly db: Database.Database,
    private readonly options: { maxItems: number; dedupWindowMs: number },
  ) {
    this.lanes = new InboxLanes(db);
    this.received = new ReceivedStore(db);
    this.statements = {
      seenAt: db.prepare<[string], { seen_at: number }>("SELECT seen_at FROM seen WHERE id = ?"),
      markSeen: db.prepare(
        "INSERT INTO seen (id, seen_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
      ),
      countPending: db.prepare<[], { n: number }>(
        "SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending' AND kind = 'message'",
      ),
      insert: db.prepare(
        `INSERT INTO inbox (id, kind, correlation_id, message_id, priority_rank, json, state, attempts, next_attempt_at, received_at)
         VALUES (@id, @kind, @correlationId, @messageId, @rank, @json, 'pending', 0, @now, @now)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, json = excluded.json, state = 'pending', attempts = 0,
           next_attempt_at = excluded.next_attempt_at, received_at = excluded.received_at, finished_at = NULL, last_error = NULL`,
      ),
      insertReceipt: db.prepare(
        `INSERT INTO receipts (receipt_id, outbound_id, message_id, correlation_id, status, json, at, stored_at)
         VALUES (@receiptId, (SELECT outbound_id FROM outbox WHERE message_id = @messageId LIMIT 1), @messageId,
                 @correlationId, @status, @json, @at, @now)
         ON CONFLICT (receipt_id) DO NOTHING`,
      ),
      trace: db.prepare("INSERT INTO trace (correlation_id, message_id, hop, at, detail) VALUES (?, ?, ?, ?, ?)"),
      setMeta: db.prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      get: db.prepare<[string], Record<string, unknown>>(
        "SELECT id, kind, correlation_id, message_id, json, attempts, received_at FROM inbox WHERE id = ?",
      ),
      delivered: db.prepare(
        "UPDATE inbox SET state = 'delivered', json = NULL, attempts = ?, finished_at = ?, last_error = NULL WHERE id = ?",
      ),
      reschedule: db.prepare("UPDATE inbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?"),
      defer: db.prepare("UPDATE inbox SET next_attempt_at = ? WHERE id = ? AND state = 'pending'"),
      wakePending: db.prepare("UPDATE inbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?"),
      deleteInbox: db.prepare("DELETE FROM inbox WHERE id = ?"),
      insertDead: db.prepare(
        `INSERT INTO dead_letters (id, kind, correlation_id, message_id, priority_rank, json, reason, attempts, received_at, dead_at)
         SELECT id, kind, correlation_id, message_id, priority_rank, COALESCE(json, 'null'), @reason, @attempts, received_at, @now
         FROM inbox WHERE id = @id
         ON CONFLICT (id) DO UPDATE SET json = excluded.json, reason = excluded.reason, attempts = excluded.attempts,
           dead_at = excluded.dead_at`,
      ),
      addReport: db.prepare(
        "INSERT INTO pending_reports (id, outcome, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, reason = excluded.reason",
      ),
      listReports: db.prepare<[number], Record<string, unknown>>(
        "SELECT id, outcome, reason FROM pending_reports ORDER BY created_at LIMIT ?",
      ),
      deleteReport: db.prepare("DELETE FROM pending_reports WHERE id = ?"),
      listDead: db.prepare<[number], Record<string, unknown>>(
        "SELECT id, kind, correlation_id, message_id, json, reason, attempts, received_at, dead_at FROM dead_letters ORDER BY dead_at DESC LIMIT ?",
      ),
      allDeadIds: db.prepare<[], { id: string }>("SELECT id FROM dead_letters ORDER BY dead_at"),
      replayOne: db.prepare(
        `INSERT INTO inbox (id, kind, correlation_id, message_id, priority_rank, json, state, attempts, next_attempt_at, received_at)
         SELECT id, kind, correlation_id, message_id, priority_rank, json, 'pending', 0, @now, received_at FROM dead_letters WHERE id = @id
         ON CONFLICT (id) DO UPDATE SET json = excluded.json, state = 'pending', attempts = 0,
           next_attempt_at = excluded.next_attempt_at, finished_at = NULL, last_error = NULL`,
      ),
      deleteDead: db.prepare("DELETE FROM dead_letters WHERE id = ?"),
    };
  }

  /**
   * Commit a delivered batch in ONE transaction and return what to acknowledge.
   * If this throws, nothing of the batch was stored and nothing may be acked.
   */
  storeInbound(items: readonly DeliverItem[], now: number): StoreInboundResult {
    const run = this.db.transaction((): StoreInboundResult => {
      const result: StoreInboundResult = { ack: [], nackInboxFull: [], stored: [], duplicates: [] };
      let pending = this.statements.countPending.get()?.n ?? 0;
      for (const item of items) {
        const seen = this.statements.seenAt.get(item.id);
        if (seen && seen.seen_at >= now - this.options.dedupWindowMs) {
          result.ack.push(item.id);
          result.duplicates.push(item.id);
          continue;
        }
        if (item.kind === "message" && pending >= this.options.maxItems) {
          result.nackInboxFull.push(item.id);
          continue;
        }
        this.insertItem(item, now);
        if (item.kind === "message") pending++;
        result.ack.push(item.id);
        result.stored.push(item);
      }
      const last = items[items.length - 1];
      if (last && result.ack.includes(last.id)) this.statements.setMeta.run("lastReceivedId", last.id);
      return result;
    });
    return run.immediate();
  }

  /** Put a locally made item (a local receipt) into the inbox; call inside the caller's transaction. */
  insertItem(item: DeliverItem, now: number): void {
    const { correlationId, messageId, rank } = describe(item);
    this.statements.markSeen.run(item.id, now);
    this.statements.insert.run({
      id: item.id,
      kind: item.kind,
      correlationId,
      messageId,
      rank,
      json: JSON.stringify(item),
      now,
    });
    if (item.kind === "message") this.received.remember(item, now);
    if (item.kind === "receipt") {
      const receipt = item.receipt;
      this.statements.insertReceipt.run({
        receiptId: receipt.receiptId,
        messageId: receipt.messageId,
        correlationId: receipt.correlationId,
        status: receipt.status,
        json: JSON.stringify(receipt),
        at: receipt.at,
        now,
      });
    }
    const hop = item.kind === "message" ? "inbox_stored" : `receipt_${item.receipt.status}`;
    this.statements.trace.run(correlationId, messageId, hop, now, null);
  }

  /**
   * Pending items due now, in lane order then arrival, skipping ids already in hand. Within a
   * lane (kind and priority) nothing passes an earlier item that is waiting to be retried.
   */
  due(now: number, limit: number, busy: ReadonlySet<string>): InboxEntry[] {
    return this.lanes
      .due(now, limit + busy.size)
      .filter((row) => !busy.has(row.id))
      .slice(0, limit)
      .map((row) => ({
        id: row.id,
        kind: row.kind,
        correlationId: row.correlation_id,
        messageId: row.message_id,
        attempts: row.attempts,
        receivedAt: row.received_at,
        item: parseStoredItem(row.json),
      }));
  }

  /** When the next item can be due: the earliest retry time among the lanes' first items. */
  nextDueAt(): number | null {
    return this.lanes.nextDueAt();
  }

  /** A hop of an entry's trip through the agent's hooks (named apart for receipts, see hopName). */
  private traceHook(entry: InboxEntry, hop: string, now: number, detail: string | null): void {
    this.statements.trace.run(entry.correlationId, entry.messageId, hopName(entry.kind, hop), now, detail);
  }

  markDelivered(entry: InboxEntry, attempts: number, now: number): void {
    this.db
      .transaction(() => {
        this.statements.delivered.run(attempts, now, entry.id);
        if (entry.kind === "message") this.statements.addReport.run(entry.id, "processed", null, now);
        this.traceHook(entry, "hook_delivered", now, null);
      })
      .immediate();
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

  deadLetter(
    entry: InboxEntry,
    attempts: number,
    reason: string,
    outcome: Exclude<ReportOutcome, "processed">,
    now: number,
  ): void {
    this.db
      .transaction(() => {
        this.statements.insertDead.run({ id: entry.id, reason, attempts, now });
        this.statements.deleteInbox.run(entry.id);
        if (entry.kind === "message") this.statements.addReport.run(entry.id, outcome, reason.slice(0, 500), now);
        this.traceHook(entry, "dead_lettered", now, reason);
      })
      .immediate();
  }

  pendingReports(limit: number): PendingReport[] {
    return this.statements.listReports.all(limit).map((row) => reportRowSchema.parse(row));
  }

  reportSent(id: string): void {
    this.statements.deleteReport.run(id);
  }

  listDeadLetters(limit: number): DeadLetterEntry[] {
    return this.statements.listDead.all(limit).map((raw) => {
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

  /** Move dead letters (all, or the given ids) back into the inbox for another round of hook delivery. */
  replayDeadLetters(ids: readonly string[] | undefined, now: number): string[] {
    return this.db
      .transaction(() => {
        const wanted = ids ?? this.statements.allDeadIds.all().map((row) => row.id);
        const replayed: string[] = [];
        for (const id of wanted) {
          const moved = this.statements.replayOne.run({ id, now });
          if (moved.changes === 0) continue;
          this.statements.deleteDead.run(id);
          const row = inboxRowSchema.parse(this.statements.get.get(id));
          this.statements.trace.run(
            row.correlation_id,
            row.message_id,
            hopName(row.kind, "dead_letter_replayed"),
            now,
            null,
          );
          replayed.push(id);
        }
        return replayed;
      })
      .immediate();
  }
}
