import { priorityOfRank } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { z } from "zod";
import { type LocalTraceHop, type LocalTraceInbound, SENDER_HOP, type StoredTrace } from "./trace-wire.js";

/** Bounds on one lookup: a correlation id reused by thousands of messages must not stall the API. */
const MAX_HOPS = 500;
const MAX_KEYS = 20;

const hopRowSchema = z.object({
  seq: z.number(),
  hop: z.string(),
  at: z.number(),
  correlation_id: z.string().nullable(),
  message_id: z.string().nullable(),
  detail: z.string().nullable(),
});
const outboxRowSchema = z.object({
  outbound_id: z.string(),
  to_agent: z.string(),
  to_relay: z.string().nullable(),
  correlation_id: z.string(),
  message_id: z.string().nullable(),
  priority_rank: z.number(),
  state: z.enum(["queued", "sending", "sent", "failed"]),
  attempts: z.number(),
  last_error: z.string().nullable(),
  created_at: z.number(),
  updated_at: z.number(),
  next_attempt_at: z.number(),
  expires_at: z.number(),
});
const inboxRowSchema = z.object({
  id: z.string(),
  correlation_id: z.string().nullable(),
  json: z.string().nullable(),
  state: z.enum(["pending", "delivered"]),
  attempts: z.number(),
  received_at: z.number(),
  finished_at: z.number().nullable(),
  next_attempt_at: z.number(),
  last_error: z.string().nullable(),
});
const deadRowSchema = z.object({
  id: z.string(),
  correlation_id: z.string().nullable(),
  json: z.string(),
  reason: z.string(),
  attempts: z.number(),
  received_at: z.number(),
  dead_at: z.number(),
});

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

/**
 * Local hops of a message for `clawrelay trace`. Every query goes through an index: the trace
 * table by correlation id or message id, the outbox and inbox by primary key or message id.
 */
export class TraceStore {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      hops: db.prepare<[string, string, number], Record<string, unknown>>(
        "SELECT seq, hop, at, correlation_id, message_id, detail FROM trace WHERE correlation_id = ? OR message_id = ? ORDER BY seq LIMIT ?",
      ),
      outboxById: db.prepare<[string], Record<string, unknown>>("SELECT * FROM outbox WHERE outbound_id = ?"),
      outboxByMessage: db.prepare<[string], Record<string, unknown>>(
        "SELECT * FROM outbox WHERE message_id = ? LIMIT 10",
      ),
      inbox: db.prepare<[string], Record<string, unknown>>(
        "SELECT id, correlation_id, json, state, attempts, received_at, finished_at, next_attempt_at, last_error FROM inbox WHERE id = ? AND kind = 'message'",
      ),
      dead: db.prepare<[string], Record<string, unknown>>(
        "SELECT id, correlation_id, json, reason, attempts, received_at, dead_at FROM dead_letters WHERE id = ? AND kind = 'message'",
      ),
    };
  }

  /** Everything known locally about `id` (correlation, relay message or outbound id); undefined when nothing. */
  lookup(id: string): StoredTrace | undefined {
    const outbound = new Map<string, z.infer<typeof outboxRowSchema>>();
    const addOutbound = (raw: Record<string, unknown> | undefined) => {
      if (!raw) return;
      const row = outboxRowSchema.parse(raw);
      outbound.set(row.outbound_id, row);
    };
    addOutbound(this.statements.outboxById.get(id));
    for (const raw of this.statements.outboxByMessage.all(id)) addOutbound(raw);

    const keys = new Set<string>([id]);
    for (const row of outbound.values()) {
      keys.add(row.correlation_id);
      if (row.message_id) keys.add(row.message_id);
    }
    const hops = new Map<number, LocalTraceHop & { seq: number }>();
    const visited = new Set<string>();
    // Two rounds: the id's own hops name its correlation and message ids, whose hops complete the picture.
    for (let round = 0; round < 2; round++) {
      for (const key of [...keys].slice(0, MAX_KEYS)) {
        if (visited.has(key)) continue;
        visited.add(key);
        for (const raw of this.statements.hops.all(key, key, MAX_HOPS)) {
          const row = hopRowSchema.parse(raw);
          hops.set(row.seq, {
            seq: row.seq,
            role: SENDER_HOP.test(row.hop) ? "sender" : "recipient",
            hop: row.hop,
            at: row.at,
            correlationId: row.correlation_id,
            messageId: row.message_id,
            detail: row.detail,
          });
          if (row.correlation_id) keys.add(row.correlation_id);
          if (row.message_id) keys.add(row.message_id);
          if (row.hop === "outbox_queued" && row.detail) addOutbound(this.statements.outboxById.get(row.detail));
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
      outbound: [...outbound.values()].map((row) => ({
        outboundId: row.outbound_id,
        to: row.to_agent,
        toRelay: row.to_relay,
        correlationId: row.correlation_id,
        messageId: row.message_id,
        priority: priorityOfRank(row.priority_rank),
        state: row.state,
        attempts: row.attempts,
        lastError: row.last_error,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        nextAttemptAt: row.next_attempt_at,
        expiresAt: row.expires_at,
      })),
      inbound,
      hops: [...hops.values()]
        .sort((a, b) => a.seq - b.seq)
        .slice(0, MAX_HOPS)
        .map(({ seq: _seq, ...hop }) => hop),
    };
  }

  private inboundState(messageId: string): LocalTraceInbound | undefined {
    const inboxRaw = this.statements.inbox.get(messageId);
    if (inboxRaw) {
      const row = inboxRowSchema.parse(inboxRaw);
      return {
        messageId: row.id,
        correlationId: row.correlation_id,
        from: senderOf(row.json),
        state: row.state,
        attempts: row.attempts,
        receivedAt: row.received_at,
        finishedAt: row.finished_at,
        nextAttemptAt: row.state === "pending" ? row.next_attempt_at : null,
        lastError: row.last_error,
      };
    }
    const deadRaw = this.statements.dead.get(messageId);
    if (!deadRaw) return undefined;
    const row = deadRowSchema.parse(deadRaw);
    return {
      messageId: row.id,
      correlationId: row.correlation_id,
      from: senderOf(row.json),
      state: "dead_lettered",
      attempts: row.attempts,
      receivedAt: row.received_at,
      finishedAt: row.dead_at,
      nextAttemptAt: null,
      lastError: row.reason,
    };
  }
}
