import { PRIORITY_RANK, type Priority, type Receipt, receiptSchema } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { z } from "zod";
import type { InboxStore } from "./store-inbox.js";

export type OutboundState = "queued" | "sending" | "sent" | "failed";

export interface NewOutbound {
  outboundId: string;
  to: string;
  toRelay: string | null;
  /** The exact JSON body sent to the relay; fixed so every retry carries the same Content-Digest. */
  body: string;
  priority: Priority;
  idempotencyKey: string;
  correlationId: string;
  expiresAt: number;
  conversationId?: string | null;
  inReplyTo?: string | null;
  /** The local OpenClaw session that sent it (`X-Claw-Session-Key`), for routing its receipts and replies. */
  sessionKey?: string | null;
}

export interface OutboundRecord {
  outboundId: string;
  to: string;
  toRelay: string | null;
  body: string;
  priorityRank: number;
  idempotencyKey: string;
  correlationId: string;
  state: OutboundState;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  messageId: string | null;
  lastError: string | null;
  conversationId: string | null;
  inReplyTo: string | null;
  sessionKey: string | null;
}

/** What the hook formats may ask about the agent's own outbound messages. */
export interface SessionKeyLookup {
  /**
   * The session key stored with the outbound message named by its relay message id, outbound id
   * or correlation id (the latest such message that has one); undefined when none.
   */
  sessionKeyForMessage(idOrCorrelationId: string): string | undefined;
}

export type EnqueueResult =
  | { ok: true; duplicate: boolean; record: OutboundRecord }
  | { ok: false; reason: "outbox_full" };

export interface TraceHop {
  hop: string;
  at: number;
  messageId: string | null;
  detail: string | null;
}

const recordSchema = z
  .object({
    outbound_id: z.string(),
    to_agent: z.string(),
    to_relay: z.string().nullable(),
    body: z.string(),
    priority_rank: z.number(),
    idempotency_key: z.string(),
    correlation_id: z.string(),
    state: z.enum(["queued", "sending", "sent", "failed"]),
    attempts: z.number(),
    next_attempt_at: z.number(),
    created_at: z.number(),
    updated_at: z.number(),
    expires_at: z.number(),
    message_id: z.string().nullable(),
    last_error: z.string().nullable(),
    conversation_id: z.string().nullable(),
    in_reply_to: z.string().nullable(),
    session_key: z.string().nullable(),
  })
  .transform(
    (row): OutboundRecord => ({
      outboundId: row.outbound_id,
      to: row.to_agent,
      toRelay: row.to_relay,
      body: row.body,
      priorityRank: row.priority_rank,
      idempotencyKey: row.idempotency_key,
      correlationId: row.correlation_id,
      state: row.state,
      attempts: row.attempts,
      nextAttemptAt: row.next_attempt_at,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      expiresAt: row.expires_at,
      messageId: row.message_id,
      lastError: row.last_error,
      conversationId: row.conversation_id,
      inReplyTo: row.in_reply_to,
      sessionKey: row.session_key,
    }),
  );
const traceRowSchema = z.object({
  hop: z.string(),
  at: z.number(),
  message_id: z.string().nullable(),
  detail: z.string().nullable(),
});

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

/** The durable outbox: messages from the agent, kept until the relay has accepted (or refused) them. */
export class OutboxStore {
  private readonly statements;

  constructor(
    private readonly db: Database.Database,
    private readonly inbox: InboxStore,
    private readonly options: { maxItems: number },
  ) {
    this.statements = {
      countActive: db.prepare<[], { n: number }>(
        "SELECT COUNT(*) AS n FROM outbox WHERE state IN ('queued', 'sending')",
      ),
      byKey: db.prepare<[string, string], Record<string, unknown>>(
        "SELECT * FROM outbox WHERE to_agent = ? AND idempotency_key = ?",
      ),
      get: db.prepare<[string], Record<string, unknown>>("SELECT * FROM outbox WHERE outbound_id = ?"),
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
      traceSend: db.prepare(
        "INSERT INTO trace (correlation_id, message_id, hop, at, detail) SELECT correlation_id, NULL, 'relay_send', ?, outbound_id FROM outbox WHERE outbound_id = ?",
      ),
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
      trace: db.prepare("INSERT INTO trace (correlation_id, message_id, hop, at, detail) VALUES (?, ?, ?, ?, ?)"),
      receipts: db.prepare<[string, string], { json: string }>(
        "SELECT json FROM receipts WHERE outbound_id = ? OR message_id = ? ORDER BY at, stored_at",
      ),
      traceFor: db.prepare<[string, string], Record<string, unknown>>(
        "SELECT hop, at, message_id, detail FROM trace WHERE correlation_id = ? OR message_id = ? ORDER BY seq",
      ),
      linkReceipts: db.prepare("UPDATE receipts SET outbound_id = ? WHERE message_id = ? AND outbound_id IS NULL"),
      // Each an index lookup (outbox_message, the primary key, outbox_correlation).
      sessionByMessage: db.prepare<[string], { session_key: string }>(
        "SELECT session_key FROM outbox WHERE message_id = ? AND session_key IS NOT NULL ORDER BY outbound_id DESC LIMIT 1",
      ),
      sessionByOutbound: db.prepare<[string], { session_key: string }>(
        "SELECT session_key FROM outbox WHERE outbound_id = ? AND session_key IS NOT NULL",
      ),
      sessionByCorrelation: db.prepare<[string], { session_key: string }>(
        "SELECT session_key FROM outbox WHERE correlation_id = ? AND session_key IS NOT NULL ORDER BY outbound_id DESC LIMIT 1",
      ),
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
        this.statements.trace.run(message.correlationId, null, "outbox_queued", now, message.outboundId);
        return { ok: true, duplicate: false, record: recordSchema.parse(this.statements.get.get(message.outboundId)) };
      })
      .immediate();
  }

  /** See SessionKeyLookup: an exact id (relay message id, then outbound id) before a correlation id. */
  sessionKeyForMessage(idOrCorrelationId: string): string | undefined {
    const { sessionByMessage, sessionByOutbound, sessionByCorrelation } = this.statements;
    const row =
      sessionByMessage.get(idOrCorrelationId) ??
      sessionByOutbound.get(idOrCorrelationId) ??
      sessionByCorrelation.get(idOrCorrelationId);
    return row?.session_key;
  }

  get(outboundId: string): OutboundRecord | undefined {
    const row = this.statements.get.get(outboundId);
    return row ? recordSchema.parse(row) : undefined;
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
        this.statements.traceSend.run(now, outboundId);
      })
      .immediate();
  }

  markSent(record: OutboundRecord, messageId: string | null, attempts: number, now: number): void {
    this.db
      .transaction(() => {
        this.statements.sent.run(messageId, attempts, now, record.outboundId);
        this.advanceStream(record);
        if (messageId) this.statements.linkReceipts.run(record.outboundId, messageId);
        this.statements.trace.run(record.correlationId, messageId, "relay_accepted", now, record.outboundId);
      })
      .immediate();
  }

  reschedule(record: OutboundRecord, attempts: number, nextAttemptAt: number, error: string, now: number): void {
    this.db
      .transaction(() => {
        this.statements.reschedule.run(attempts, nextAttemptAt, error, now, record.outboundId);
        this.statements.trace.run(record.correlationId, null, "relay_retry", now, error);
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
        this.inbox.insertItem({ kind: "receipt", id: `local-${receipt.receiptId}`, receipt }, now);
        this.statements.linkReceipts.run(record.outboundId, receipt.messageId);
        this.statements.trace.run(record.correlationId, null, `local_${receipt.status}`, now, receipt.reason ?? null);
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
    return this.statements.receipts.all(record.outboundId, record.messageId ?? record.outboundId).flatMap((row) => {
      try {
        const parsed = receiptSchema.safeParse(JSON.parse(row.json));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }

  traceFor(record: OutboundRecord): TraceHop[] {
    return this.statements.traceFor.all(record.correlationId, record.messageId ?? record.outboundId).map((raw) => {
      const row = traceRowSchema.parse(raw);
      return { hop: row.hop, at: row.at, messageId: row.message_id, detail: row.detail };
    });
  }
}
