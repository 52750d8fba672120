import { priorityOfRank } from "@clawrelay/protocol";
import type { DeadLetterStore } from "./store-dead-letters.js";
import type { InboxViews } from "./store-inbox-views.js";
import type { OutboxLookup } from "./store-outbox-lookup.js";
import type { OutboundRecord } from "./store-outbox-record.js";
import type { TraceStore } from "./store-trace.js";
import { type LocalTraceHop, type LocalTraceInbound, SENDER_HOP, type StoredTrace } from "./trace-wire.js";

/** Bounds on one lookup: a correlation id reused by thousands of messages must not stall the API. */
const MAX_HOPS = 500;
const MAX_KEYS = 20;

/** The sender named in a stored item, when its JSON is still there (delivered rows drop it). */
function senderOf(json: string | null): string | null {
  if (json === null) return null;
  try {
    const from: unknown = (JSON.parse(json) as { from?: unknown } | null)?.from;
    return typeof from === "string" ? from : null;
  } catch {
    return null;
  }
}

/** The owners a trace reads from; it reads no table itself. */
export interface TraceSources {
  trace: TraceStore;
  outbox: OutboxLookup;
  inbox: InboxViews;
  deadLetters: DeadLetterStore;
}

/**
 * Local hops of a message for `clawrelay trace`. Every read goes through an index: the trace
 * by correlation id or message id, the outbox and inbox by primary key or message id.
 */
export class TraceLookup {
  constructor(private readonly sources: TraceSources) {}

  /** Everything known locally about `id` (correlation, relay message or outbound id); undefined when nothing. */
  lookup(id: string): StoredTrace | undefined {
    const outbound = new Map<string, OutboundRecord>();
    const addOutbound = (record: OutboundRecord | undefined) => {
      if (record) outbound.set(record.outboundId, record);
    };
    addOutbound(this.sources.outbox.get(id));
    for (const record of this.sources.outbox.byMessage(id)) addOutbound(record);

    const keys = new Set<string>([id]);
    for (const record of outbound.values()) {
      keys.add(record.correlationId);
      if (record.messageId) keys.add(record.messageId);
    }
    const hops = new Map<number, LocalTraceHop & { seq: number }>();
    const visited = new Set<string>();
    // Two rounds: the id's own hops name its correlation and message ids, whose hops complete the picture.
    for (let round = 0; round < 2; round++) {
      for (const key of [...keys].slice(0, MAX_KEYS)) {
        if (visited.has(key)) continue;
        visited.add(key);
        for (const row of this.sources.trace.hops(key, key, MAX_HOPS)) {
          hops.set(row.seq, {
            seq: row.seq,
            role: SENDER_HOP.test(row.hop) ? "sender" : "recipient",
            hop: row.hop,
            at: row.at,
            correlationId: row.correlationId,
            messageId: row.messageId,
            detail: row.detail,
          });
          if (row.correlationId) keys.add(row.correlationId);
          if (row.messageId) keys.add(row.messageId);
          if (row.hop === "outbox_queued" && row.detail) addOutbound(this.sources.outbox.get(row.detail));
        }
      }
    }

    const inbound: LocalTraceInbound[] = [];
    const recipientIds = new Set(
      [...hops.values()].filter((h) => h.role === "recipient" && h.messageId).map((h) => h.messageId as string),
    );
    recipientIds.add(id);
    for (const messageId of [...recipientIds].slice(0, MAX_KEYS)) {
      const found = this.inboundState(messageId);
      if (found) inbound.push(found);
    }
    if (outbound.size === 0 && inbound.length === 0 && hops.size === 0) return undefined;
    return {
      outbound: [...outbound.values()].map((record) => ({
        outboundId: record.outboundId,
        to: record.to,
        toRelay: record.toRelay,
        correlationId: record.correlationId,
        messageId: record.messageId,
        priority: priorityOfRank(record.priorityRank),
        state: record.state,
        attempts: record.attempts,
        lastError: record.lastError,
        createdAt: record.createdAt,
        updatedAt: record.updatedAt,
        nextAttemptAt: record.nextAttemptAt,
        expiresAt: record.expiresAt,
      })),
      inbound,
      hops: [...hops.values()]
        .sort((a, b) => a.seq - b.seq)
        .slice(0, MAX_HOPS)
        .map(({ seq: _seq, ...hop }) => hop),
    };
  }

  private inboundState(messageId: string): LocalTraceInbound | undefined {
    const row = this.sources.inbox.message(messageId);
    if (row) {
      return {
        messageId: row.id,
        correlationId: row.correlationId,
        from: senderOf(row.json),
        state: row.state,
        attempts: row.attempts,
        receivedAt: row.receivedAt,
        finishedAt: row.finishedAt,
        nextAttemptAt: row.state === "pending" ? row.nextAttemptAt : null,
        lastError: row.lastError,
      };
    }
    const dead = this.sources.deadLetters.message(messageId);
    if (!dead) return undefined;
    return {
      messageId: dead.id,
      correlationId: dead.correlationId,
      from: senderOf(dead.json),
      state: "dead_lettered",
      attempts: dead.attempts,
      receivedAt: dead.receivedAt,
      finishedAt: dead.deadAt,
      nextAttemptAt: null,
      lastError: dead.reason,
    };
  }
}
