import { PRIORITY_RANK, type Receipt } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { z } from "zod";
import type { InboxStore } from "./store-inbox.js";
import type { OutboxLookup } from "./store-outbox-lookup.js";
import { type EnqueueResult, type NewOutbound, type OutboundRecord, recordSchema } from "./store-outbox-record.js";
import type { ReceiptStore } from "./store-receipts.js";
import type { TraceHop, TraceStore } from "./store-trace.js";

export type { SessionKeyLookup } from "./store-outbox-lookup.js";
export type { EnqueueResult, NewOutbound, OutboundRecord, OutboundState } from "./store-outbox-record.js";
export type { TraceHop } from "./store-trace.js";

export interface OutboxCounts {
  queued: number;
  sending: number;
  sent: number;
  failed: number;
}

const stateCountSchema = z.object({ state: z.string(), n: z.number() });

/**
 * The queries the drain runs on every pass; each must stay an index lookup whatever the outbox's
 * depth (a test reads their query plans). Only stream heads are ever due: a stream's later
 * messages wait for its head to be sent or to fail.
 */
export const DRAIN_QUERIES = {
  due: `SELECT outbox.* FROM outbox_streams JOIN outbox ON outbox.outbound_id = outbox_streams.head_id
    WHERE outbox.state = 'queued' AND outbox.next_attempt_at <= ?
    ORDER BY outbox.priority_rank, outbox.outbound_id LIMIT ?`,
  nextDueAt: `SELECT MIN(outbox.next_attempt_at) AS at FROM outbox_streams
    JOIN outbox ON outbox.outbound_id = outbox_streams.head_id WHERE outbox.state = 'queued'`,
  expired: "SELECT * FROM outbox WHERE state = 'queued' AND expires_at <= ? ORDER BY expires_at LIMIT 100",
  streamHead: `SELECT outbound_id FROM outbox WHERE to_agent = ? AND priority_rank = ? AND state IN ('queued', 'sending')
    ORDER BY outbound_id LIMIT 1`,
} as const;

/** What the outbox writes beside its own tables, each through its owner. */
export interface OutboxNeighbours {
  /** The outbox's read side (the same tables). */
  lookup: OutboxLookup;
  /** A failed message's local receipt goes to the agent's receipt hook through the inbox. */
  inbox: Pick<InboxStore, "insertItem">;
  receipts: ReceiptStore;
  trace: TraceStore;
}

/**
 * The durable outbox (`outbox`, and `outbox_streams`, each stream's head): messages from the
 * agent, kept until the relay has accepted (or refused) them.
 */
export class OutboxStore {
  private readonly statements;

  constructor(
    private readonly db: Database.Database,
    private readonly neighbours: OutboxNeighbours,
    private readonly options: { maxItems: number },
  ) {
    this.statements = {
      countActive: db.prepare<[], { n: number }>(
        "SELECT COUNT(*) AS n FROM outbox WHERE state IN ('queued', 'sending')",
      ),
      byKey: db.prepare<[string, string], Record<string, unknown>>(
        "SELECT * FROM outbox WHERE to_agent = ? AND idempotency_key = ?",
      ),
      insert: db.prepare(
        `INSERT INTO outbox (outbound_id, to_agent, to_relay, body, priority_rank, idempotency_key, correlation_id, state,
           attempts, next_attempt_at, created_at, updated_at, expires_at, conversation_id, in_reply_to, session_key)
         VALUES (@outboundId, @to, @toRelay, @body, @rank, @idempotencyKey, @correlationId, 'queued', 0, @now, @now, @now,
           @expiresAt, @conversationId, @inReplyTo, @sessionKey)`,
      ),
      due: db.prepare<[number, number], Record<string, unknown>>(DRAIN_QUERIES.due),
      nextDueAt: db.prepare<[], { at: number | null }>(DRAIN_QUERIES.nextDueAt),
      joinStream: db.prepare(
        `INSERT INTO outbox_streams (to_agent, priority_rank, head_id) VALUES (?, ?, ?)
         ON CONFLICT (to_agent, priority_rank) DO UPDATE SET head_id = MIN(head_id, excluded.head_id)`,
      ),
      streamHead: db.prepare<[string, number], { outbound_id: string }>(DRAIN_QUERIES.streamHead),
      setStreamHead: db.prepare("UPDATE outbox_streams SET head_id = ? WHERE to_agent = ? AND priority_rank = ?"),
      endStream: db.prepare("DELETE FROM outbox_streams WHERE to_agent = ? AND priority_rank = ?"),
      expired: db.prepare<[number], Record<string, unknown>>(DRAIN_QUERIES.expired),
      setState: db.prepare("UPDATE outbox SET state = ?, updated_at = ? WHERE outbound_id = ?"),
      sent: db.prepare(
        "UPDATE outbox SET state = 'sent', message_id = ?, attempts = ?, updated_at = ?, last_error = NULL WHERE outbound_id = ?",
      ),
      reschedule: db.prepare(
        "UPDATE outbox SET state = 'queued', attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE outbound_id = ?",
      ),
      failed: db.prepare(
        "UPDATE outbox SET state = 'failed', attempts = ?, last_error = ?, updated_at = ? WHERE outbound_id = ?",
      ),
      recover: db.prepare(
        "UPDATE outbox SET state = 'queued', next_attempt_at = MIN(next_attempt_at, ?) WHERE state IN ('queued', 'sending')",
      ),
      countByState: db.prepare<[], Record<string, unknown>>("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state"),
      oldestActive: db.prepare<[], { at: number | null }>(
        "SELECT MIN(created_at) AS at FROM outbox WHERE state IN ('queued', 'sending')",
      ),
      prune: db.prepare<[number]>("DELETE FROM outbox WHERE state IN ('sent', 'failed') AND updated_at < ?"),
    };
  }

  /** Commit a new outbound message; a repeat of (to, idempotencyKey) returns the original. */
  enqueue(message: NewOutbound, now: number): EnqueueResult {
    return this.db
      .transaction((): EnqueueResult => {
        const existing = this.statements.byKey.get(message.to, message.idempotencyKey);
        if (existing) return { ok: true, duplicate: true, record: recordSchema.parse(existing) };
        if ((this.statements.countActive.get()?.n ?? 0) >= this.options.maxItems) {
          return { ok: false, reason: "outbox_full" };
        }
        this.statements.insert.run({
          outboundId: message.outboundId,
          to: message.to,
          toRelay: message.toRelay,
          body: message.body,
          rank: PRIORITY_RANK[message.priority],
          idempotencyKey: message.idempotencyKey,
          correlationId: message.correlationId,
          now,
          expiresAt: message.expiresAt,
          conversationId: message.conversationId ?? null,
          inReplyTo: message.inReplyTo ?? null,
          sessionKey: message.sessionKey ?? null,
        });
        this.statements.joinStream.run(message.to, PRIORITY_RANK[message.priority], message.outboundId);
        this.neighbours.trace.record(message.correlationId, null, "outbox_queued", now, message.outboundId);
        const record = this.neighbours.lookup.get(message.outboundId);
        if (!record) throw new Error("outbound message missing right after its insert");
        return { ok: true, duplicate: false, record };
      })
      .immediate();
  }

  /** See SessionKeyLookup: an exact id (relay message id, then outbound id) before a correlation id. */
  sessionKeyForMessage(idOrCorrelationId: string): string | undefined {
    return this.neighbours.lookup.sessionKeyForMessage(idOrCorrelationId);
  }

  get(outboundId: string): OutboundRecord | undefined {
    return this.neighbours.lookup.get(outboundId);
  }

  /** Stream heads due now: critical, normal, low, then age. */
  due(now: number, limit: number): OutboundRecord[] {
    return this.statements.due.all(now, limit).map((row) => recordSchema.parse(row));
  }

  nextDueAt(): number | null {
    return this.statements.nextDueAt.get()?.at ?? null;
  }

  expired(now: number): OutboundRecord[] {
    return this.statements.expired.all(now).map((row) => recordSchema.parse(row));
  }

  /** About to POST it to the relay: the trace's "left the connector" hop, one per attempt. */
  markSending(outboundId: string, now: number): void {
    this.db
      .transaction(() => {
        this.statements.setState.run("sending", now, outboundId);
        const record = this.neighbours.lookup.get(outboundId);
        if (record) this.neighbours.trace.record(record.correlationId, null, "relay_send", now, record.outboundId);
      })
      .immediate();
  }

  markSent(record: OutboundRecord, messageId: string | null, attempts: number, now: number): void {
    this.db
      .transaction(() => {
        this.statements.sent.run(messageId, attempts, now, record.outboundId);
        this.advanceStream(record);
        if (messageId) this.neighbours.receipts.link(record.outboundId, messageId);
        this.neighbours.trace.record(record.correlationId, messageId, "relay_accepted", now, record.outboundId);
      })
      .immediate();
  }

  reschedule(record: OutboundRecord, attempts: number, nextAttemptAt: number, error: string, now: number): void {
    this.db
      .transaction(() => {
        this.statements.reschedule.run(attempts, nextAttemptAt, error, now, record.outboundId);
        this.neighbours.trace.record(record.correlationId, null, "relay_retry", now, error);
      })
      .immediate();
  }

  /** Put a message back without counting an attempt (its breaker was open, nothing was sent). */
  release(record: OutboundRecord, nextAttemptAt: number, now: number): void {
    this.statements.reschedule.run(record.attempts, nextAttemptAt, record.lastError, now, record.outboundId);
  }

  /**
   * End a message locally: state failed, and a local receipt (stored for
   * `GET /v1/outbound/{id}` and queued for the agent's receipt hook) in the same transaction.
   */
  fail(record: OutboundRecord, attempts: number, receipt: Receipt, now: number): void {
    this.db
      .transaction(() => {
        this.statements.failed.run(attempts, receipt.reason ?? receipt.status, now, record.outboundId);
        this.advanceStream(record);
        this.neighbours.inbox.insertItem({ kind: "receipt", id: `local-${receipt.receiptId}`, receipt }, now);
        this.neighbours.receipts.link(record.outboundId, receipt.messageId);
        const hop = `local_${receipt.status}`;
        this.neighbours.trace.record(record.correlationId, null, hop, now, receipt.reason ?? null);
      })
      .immediate();
  }

  /** A message of this stream finished: its oldest unfinished one, if any, becomes the head. */
  private advanceStream(record: OutboundRecord): void {
    const next = this.statements.streamHead.get(record.to, record.priorityRank);
    if (next) this.statements.setStreamHead.run(next.outbound_id, record.to, record.priorityRank);
    else this.statements.endStream.run(record.to, record.priorityRank);
  }

  /** After a restart: anything caught mid-send goes back to queued, and everything queued is due now. */
  recover(now: number): void {
    this.statements.recover.run(now);
  }

  receiptsFor(record: OutboundRecord): Receipt[] {
    return this.neighbours.receipts.forOutbound(record.outboundId, record.messageId ?? record.outboundId);
  }

  traceFor(record: OutboundRecord): TraceHop[] {
    return this.neighbours.trace
      .hops(record.correlationId, record.messageId ?? record.outboundId, -1)
      .map(({ hop, at, messageId, detail }) => ({ hop, at, messageId, detail }));
  }

  counts(): OutboxCounts {
    const counts: OutboxCounts = { queued: 0, sending: 0, sent: 0, failed: 0 };
    for (const raw of this.statements.countByState.all()) {
      const row = stateCountSchema.parse(raw);
      if (row.state in counts) counts[row.state as keyof OutboxCounts] = row.n;
    }
    return counts;
  }

  /** When the oldest message still waiting for a relay arrived. */
  oldestActiveAt(): number | null {
    return this.statements.oldestActive.get()?.at ?? null;
  }

  /** Drop messages that ended before `before`; call inside the store's prune transaction. */
  prune(before: number): void {
    this.statements.prune.run(before);
  }
}
