import type { Priority } from "@clawrelay/protocol";
import { z } from "zod";

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

export type EnqueueResult =
  | { ok: true; duplicate: boolean; record: OutboundRecord }
  | { ok: false; reason: "outbox_full" };

/** An outbox row (`SELECT *`) as the rest of the connector sees it. */
export const recordSchema = z
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
