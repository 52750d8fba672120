import {
  PROTOCOL_LIMITS,
  type Priority,
  type Receipt,
  RelayError,
  type SendAnswer,
  type SendBody,
} from "@clawrelay/protocol";
import type { RelayConfig } from "../../config.js";
import { log } from "../../log.js";
import { newUlid } from "../../platform/ids.js";
import type { Sql } from "../../platform/sql.js";
import type { SignedCaller } from "../../types.js";
import type { SessionMetrics } from "../metrics.js";
import type { ReceiptEmitter } from "../receipts/emit.js";
import { type DeliverRow, type ItemRow, laneRank, notifyMask, wantsNotice } from "../storage/items.js";
import type { Meta } from "../storage/meta.js";
import type { DeadlineNotes } from "../time/scheduler.js";
import type { Capacity } from "./capacity.js";
import { findIdempotent, rememberIdempotent } from "./idempotency.js";
import type { Outcomes } from "./outcomes.js";
import { effectiveRule } from "./policy.js";
import type { SendBuckets } from "./rate-limit.js";
import type { HopLog } from "./trace.js";

const SWEEP_BATCH = 500;

export interface SendInput {
  body: SendBody;
  idempotencyKey: string | null;
  contentDigest: string | null;
  /** When the Worker received the request (first hop of the trace). */
  receivedAt: number;
}

export interface QueueHost {
  readonly sql: Sql;
  readonly meta: Meta;
  readonly config: RelayConfig;
  readonly capacity: Capacity;
  readonly metrics: Pick<SessionMetrics, "count">;
  readonly outcomes: Pick<Outcomes, "terminate">;
  readonly receipts: Pick<ReceiptEmitter, "emit">;
  /** The trace's hops, written behind. */
  readonly trace: Pick<HopLog, "record">;
  /** The send rate buckets, held in memory and written behind. */
  readonly buckets: Pick<SendBuckets, "take">;
  /** Expiries, delayed notices and idempotency keys are the alarm's deadlines. */
  readonly deadlines: DeadlineNotes;
  agentId(): string;
}

/** What comes into the queue and what leaves it by time: admission, expiry, delayed notices. */
export class Queue {
  /** The message the last send inserted, with its `now`, until the pump that follows takes it. */
  private justQueued: { row: DeliverRow; at: number } | null = null;
  private lastSeq: number | null = null;

  constructor(private readonly s: QueueHost) {}

  /**
   * The message a send just queued, for the pump that follows it in the same unit of work, so
   * the pump can send it without reading it back (issue 18). Given once: taking it clears it,
   * and every pump takes it, so it never outlives the send's own pump. `now` must be the send's.
   */
  /**
   * The next item's `seq`, counted here: this owner makes every item row, so the count stays
   * exact, and an insert that names its seq needs no `RETURNING` read. Loaded once from what
   * AUTOINCREMENT has handed out (sqlite_sequence, which an explicit seq also advances), so a
   * seq is never reused after a restart either.
   */
  private allocateSeq(): number {
    this.lastSeq ??= this.s.sql.scalar(
      "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'items'), 0), COALESCE((SELECT MAX(seq) FROM items), 0))",
    );
    this.lastSeq += 1;
    return this.lastSeq;
  }

  takeJustQueued(now: number): DeliverRow | null {
    const fresh = this.justQueued;
    this.justQueued = null;
    return fresh !== null && fresh.at === now ? fresh.row : null;
  }

  /**
   * Admit and enqueue one message (PROTOCOL.md §5), synchronously: policy → idempotency →
   * rate limit → capacity (shedding lower lanes) → insert. No await between the checks and the
   * insert, so concurrent sends cannot both take the last slot.
   */
  enqueueMessage(caller: SignedCaller, input: SendInput, now: number): SendAnswer {
    const s = this.s;
    this.justQueued = null;
    const rule = effectiveRule(s.meta, s.config, caller.agentId);
    if (!rule.allow) throw new RelayError("sender_blocked", "the recipient does not accept messages from this sender");

    const digest = input.contentDigest ?? "";
    if (input.idempotencyKey) {
      const repeat = findIdempotent(s.sql, caller.agentId, input.idempotencyKey, digest, now);
      if (repeat) return repeat;
    }
    s.buckets.take(caller.agentId, rule, now);

    const priority: Priority = input.body.priority ?? "normal";
    const lane = laneRank(priority);
    const payload = JSON.stringify(input.body.payload);
    const bytes = new TextEncoder().encode(payload).byteLength;
    const victims = s.capacity.plan(caller.agentId, lane, bytes, rule.senderShare);
    for (const victim of victims) {
      s.outcomes.terminate(victim, "shed", now, `evicted for a ${priority} message`);
      s.meta.increment("count_shed");
    }

    let ttlSeconds = input.body.ttlSeconds ?? rule.ttlSeconds ?? s.config.RELAY_DEFAULT_TTL_SECONDS;
    if (rule.ttlSeconds !== null) ttlSeconds = Math.min(ttlSeconds, rule.ttlSeconds);
    ttlSeconds = Math.min(ttlSeconds, PROTOCOL_LIMITS.maxTtlSeconds);
    const expiresAt = now + ttlSeconds * 1000;
    const notify = notifyMask(input.body.notify);
    const delayedDue = wantsNotice(notify, "delayed") ? now + s.config.RELAY_DELAYED_NOTICE_SECONDS * 1000 : null;
    const id = newUlid(now);

    const contentType = input.body.contentType ?? "application/json";
    const conversationId = input.body.conversationId ?? null;
    const inReplyTo = input.body.inReplyTo ?? null;
    const seq = this.allocateSeq();
    s.sql.run(
      `INSERT INTO items (seq, id, kind, lane, sender, sender_relay, correlation_id, content_type, payload, bytes, notify, state,
                        enqueued_at, expires_at, delayed_due, conversation_id, in_reply_to)
     VALUES (?, ?, 'message', ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`,
      seq,
      id,
      lane,
      caller.agentId,
      caller.relay,
      caller.correlationId,
      contentType,
      payload,
      bytes,
      notify,
      now,
      expiresAt,
      delayedDue,
      conversationId,
      inReplyTo,
    );
    s.capacity.account({ kind: "message", lane, sender: caller.agentId, bytes }, 1);
    s.deadlines.made("expiry", expiresAt);
    if (delayedDue !== null) s.deadlines.made("delayed", delayedDue);
    s.trace.record([
      { itemId: id, hop: "received", at: input.receivedAt, detail: { from: caller.agentId } },
      { itemId: id, hop: "enqueued", at: now, detail: { priority, ttlSeconds } },
    ]);
    s.meta.increment("count_received");
    s.metrics.count("messages_in", { peer: caller.agentId }, 1, now);

    const total = s.capacity.total();
    const answer: SendAnswer = {
      messageId: id,
      correlationId: caller.correlationId,
      status: "queued",
      duplicate: false,
      expiresAt,
      queueDepth: total.items,
    };
    if (input.idempotencyKey) {
      const keptUntil = now + s.config.RELAY_IDEMPOTENCY_SECONDS * 1000;
      rememberIdempotent(s.sql, caller.agentId, input.idempotencyKey, digest, answer, keptUntil);
      s.deadlines.made("idempotency", keptUntil);
    }
    // The row as the pump's scan would read it (DELIVER_COLUMNS): a new item, never attempted.
    this.justQueued = {
      at: now,
      row: {
        seq,
        id,
        kind: "message",
        lane,
        sender: caller.agentId,
        correlation_id: caller.correlationId,
        content_type: contentType,
        payload,
        enqueued_at: now,
        expires_at: expiresAt,
        attempts: 0,
        conversation_id: conversationId,
        in_reply_to: inReplyTo,
      },
    };
    log("info", {
      event: "message_enqueued",
      correlationId: caller.correlationId,
      messageId: id,
      agentId: s.agentId(),
      from: caller.agentId,
      hop: "queued",
      priority,
    });
    return answer;
  }

  /** A receipt for this agent (as a sender), as a critical item with a 7-day TTL. Idempotent by receiptId. */
  enqueueReceipt(receipt: Receipt, now: number): boolean {
    const s = this.s;
    const payload = JSON.stringify(receipt);
    const bytes = new TextEncoder().encode(payload).byteLength;
    // A receipt id seen before (still in the queue or in the records) is a repeat, not a new item.
    if (s.sql.one("SELECT 1 AS found FROM items WHERE id = ?", receipt.receiptId)) return false;
    s.sql.run(
      `INSERT INTO items (seq, id, kind, lane, sender, sender_relay, correlation_id, payload, bytes, state, enqueued_at, expires_at)
     VALUES (?, ?, 'receipt', 0, ?, NULL, ?, ?, ?, 'queued', ?, ?)`,
      this.allocateSeq(),
      receipt.receiptId,
      receipt.recipient,
      receipt.correlationId,
      payload,
      bytes,
      now,
      now + PROTOCOL_LIMITS.receiptTtlSeconds * 1000,
    );
    s.deadlines.made("expiry", now + PROTOCOL_LIMITS.receiptTtlSeconds * 1000);
    s.capacity.account({ kind: "receipt", lane: 0, sender: receipt.recipient, bytes }, 1);
    return true;
  }

  /** Expiry by each item's own deadline, wherever it stands in the queue. */
  sweepExpired(now: number): number {
    const { sql, outcomes, meta } = this.s;
    const rows = sql.all<ItemRow>(
      "SELECT * FROM items WHERE state IN ('queued', 'inflight') AND expires_at <= ? ORDER BY expires_at LIMIT ?",
      now,
      SWEEP_BATCH,
    );
    for (const row of rows) {
      outcomes.terminate(row, "expired", now, "ttl");
      if (row.kind === "message") meta.increment("count_expired");
    }
    return rows.length;
  }

  /** One `delayed` notice for items still queued RELAY_DELAYED_NOTICE_SECONDS after arrival. */
  sweepDelayed(now: number): void {
    const { sql, receipts } = this.s;
    const rows = sql.all<ItemRow>(
      "SELECT * FROM items WHERE delayed_due IS NOT NULL AND delayed_due <= ? LIMIT ?",
      now,
      SWEEP_BATCH,
    );
    for (const row of rows) {
      sql.run("UPDATE items SET delayed_due = NULL WHERE seq = ?", row.seq);
      if (row.state !== "queued" && row.state !== "inflight") continue;
      receipts.emit(row, "delayed", now, undefined, [{ itemId: row.id, hop: "delayed", at: now }]);
    }
  }
}
