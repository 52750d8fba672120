import { z } from "zod";

/**
 * `GET /v1/trace/{id}` on the connector's loopback API: what this connector knows of the
 * messages matching a correlation id, a relay message id or an outbound id. Shared by the
 * daemon (which builds it) and `clawrelay trace` (which parses it).
 */

/** Hops written as the sender: the outbox, the relay's answer, and the receipts that came back. */
export const SENDER_HOP = /^(outbox_queued|relay_send|relay_retry|relay_accepted|local_[a-z_]+|receipt_[a-z_]+)$/;

export const localTraceHopSchema = z.object({
  role: z.enum(["sender", "recipient"]),
  hop: z.string(),
  at: z.number(),
  correlationId: z.string().nullable(),
  messageId: z.string().nullable(),
  detail: z.string().nullable(),
});

export const localTraceOutboundSchema = z.object({
  outboundId: z.string(),
  to: z.string(),
  toRelay: z.string().nullable(),
  correlationId: z.string(),
  messageId: z.string().nullable(),
  priority: z.string(),
  state: z.enum(["queued", "sending", "sent", "failed"]),
  attempts: z.number(),
  lastError: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  nextAttemptAt: z.number(),
  expiresAt: z.number(),
});

export const localTraceInboundSchema = z.object({
  messageId: z.string(),
  correlationId: z.string().nullable(),
  from: z.string().nullable(),
  state: z.enum(["pending", "delivered", "dead_lettered"]),
  attempts: z.number(),
  receivedAt: z.number(),
  finishedAt: z.number().nullable(),
  nextAttemptAt: z.number().nullable(),
  lastError: z.string().nullable(),
});

export const localTraceSchema = z.object({
  query: z.string(),
  agentId: z.string(),
  connectorId: z.string(),
  /** The connector's view of its own links at the time of the answer. */
  link: z.object({ state: z.string(), relayUrl: z.string().nullable() }),
  hookBreaker: z.enum(["closed", "open", "half_open"]),
  outbound: z.array(localTraceOutboundSchema),
  inbound: z.array(localTraceInboundSchema),
  hops: z.array(localTraceHopSchema),
});

export type LocalTraceHop = z.infer<typeof localTraceHopSchema>;
export type LocalTraceOutbound = z.infer<typeof localTraceOutboundSchema>;
export type LocalTraceInbound = z.infer<typeof localTraceInboundSchema>;
export type LocalTrace = z.infer<typeof localTraceSchema>;
/** What the store knows; the daemon adds who it is and how its links stand. */
export type StoredTrace = Pick<LocalTrace, "outbound" | "inbound" | "hops">;
