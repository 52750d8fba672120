import * as z from "zod/mini";

/**
 * The shapes the dashboard reads from its data routes (apps/proxy/src/dashboard/routes.ts).
 * Parsed, never cast: a relay of another version that answers differently shows a clear
 * "unexpected answer" instead of a page of `undefined`.
 */
const ms = z.number();
const maybeMs = z.nullable(z.number());

export const percentilesSchema = z.object({ p50: maybeMs, p95: maybeMs, p99: maybeMs, count: z.number() });

export const healthSchema = z.object({
  hook: z.object({ breaker: z.string(), lastError: z.optional(z.string()), lastSuccessAt: z.optional(ms) }),
  inbox: z.object({ pending: z.number(), oldestAt: maybeMs, deadLetters: z.number() }),
  outbox: z.object({ pending: z.number(), oldestAt: maybeMs }),
  tokenExpiresAt: maybeMs,
  version: z.string(),
  receivedAt: ms,
});
export type Health = z.infer<typeof healthSchema>;

export const connectionSchema = z.object({
  connectorId: z.string(),
  role: z.string(),
  connectedAt: ms,
  lastPingAt: maybeMs,
  health: z.optional(z.nullable(healthSchema)),
});
export type Connection = z.infer<typeof connectionSchema>;

const laneSchema = z.object({ items: z.number(), bytes: z.number(), oldestQueuedAt: maybeMs });
export const LANES = ["critical", "normal", "low"] as const;
const lanesSchema = z.object({ critical: laneSchema, normal: laneSchema, low: laneSchema });

const queueSchema = z.object({
  items: z.number(),
  bytes: z.number(),
  inFlight: z.number(),
  oldestQueuedAt: maybeMs,
  lanes: lanesSchema,
});

const breakerSchema = z.object({ state: z.string(), consecutiveFailures: z.number(), openedAt: maybeMs });

export const agentRowSchema = z.object({
  agentId: z.string(),
  at: ms,
  known: z.boolean(),
  connections: z.array(connectionSchema),
  queue: queueSchema,
  breaker: breakerSchema,
  latency: z.object({ ackMs: percentilesSchema, processedMs: percentilesSchema }),
  failures: z.optional(z.record(z.string(), z.number())),
  failuresInWindow: z.optional(z.number()),
});
export type AgentRow = z.infer<typeof agentRowSchema>;

export const failureSchema = z.object({
  agentId: z.string(),
  messageId: z.string(),
  correlationId: z.string(),
  from: z.string(),
  status: z.string(),
  at: ms,
  reason: z.nullable(z.string()),
});
export type Failure = z.infer<typeof failureSchema>;

const flowPoint = {
  messagesIn: z.number(),
  delivered: z.number(),
  processed: z.number(),
  failed: z.number(),
  ackMs: percentilesSchema,
  processedMs: percentilesSchema,
};
export const hourPointSchema = z.object({ hour: ms, ...flowPoint });
export type HourPoint = z.infer<typeof hourPointSchema>;
/** A 5-minute bucket of the last 6 h, at its start. */
export const finePointSchema = z.object({ start: ms, ...flowPoint });
export type FinePoint = z.infer<typeof finePointSchema>;

/** `attention` arrives with the relay's "needs attention" view; older relays omit it. */
export const attentionSchema = z.object({
  agentId: z.string(),
  reason: z.string(),
  since: z.optional(maybeMs),
  detail: z.optional(z.unknown()),
});
export type Attention = z.infer<typeof attentionSchema>;

export const statusSchema = z.object({
  generatedAt: ms,
  version: z.string(),
  shards: z.object({
    total: z.number(),
    answered: z.number(),
    failed: z.array(z.object({ shard: z.number(), reason: z.string() })),
  }),
  revocations: z.object({ state: z.string() }),
  agents: z.object({ reporting: z.number(), known: z.number(), connected: z.number() }),
  totals: z.object({ messagesIn: z.number(), delivered: z.number(), processed: z.number(), failed: z.number() }),
  refused: z.object({ total: z.number() }),
  /** `fiveMinute` arrives with the relay's 5-minute buckets; older relays omit it. */
  rates: z.object({
    lastHourInPerSecond: z.number(),
    hourly: z.array(hourPointSchema),
    fiveMinute: z.optional(z.array(finePointSchema)),
  }),
  latency: z.object({ ackMs: percentilesSchema }),
  openBreakersTotal: z.number(),
  recentFailures: z.array(failureSchema),
  attention: z.optional(z.array(attentionSchema)),
  attentionTotal: z.optional(z.number()),
});
export type Status = z.infer<typeof statusSchema>;

export const overviewSchema = z.object({
  status: statusSchema,
  agents: z.array(agentRowSchema),
  agentsTotal: z.number(),
});
export type Overview = z.infer<typeof overviewSchema>;

export const agentViewSchema = z.object({
  agentId: z.string(),
  generatedAt: ms,
  status: z.object({
    known: z.boolean(),
    connections: z.array(connectionSchema),
    queue: z.extend(queueSchema, { receipts: z.object({ items: z.number(), bytes: z.number() }) }),
    breaker: breakerSchema,
    receiptBreakers: z.array(z.object({ destination: z.string(), state: z.string(), consecutiveFailures: z.number() })),
    metrics: z.nullable(
      z.object({
        latencyMs: z.object({ ack: percentilesSchema, processed: percentilesSchema }),
        totals: z.record(z.string(), z.number()),
        uptimePercent: z.nullable(z.number()),
        reconnects: z.number(),
      }),
    ),
  }),
  failures: z.array(failureSchema),
  attention: z.array(attentionSchema),
  /** The agent's own traffic; null before it reported, absent from older relays. */
  rates: z.optional(z.nullable(z.object({ hourly: z.array(hourPointSchema), fiveMinute: z.array(finePointSchema) }))),
});
export type AgentView = z.infer<typeof agentViewSchema>;

export const searchMatchSchema = z.object({
  agentId: z.string(),
  messageId: z.string(),
  correlationId: z.string(),
  state: z.string(),
  at: ms,
  source: z.enum(["record", "recent_failure"]),
});
export type SearchMatch = z.infer<typeof searchMatchSchema>;

export const searchSchema = z.object({
  query: z.string(),
  agent: z.nullable(z.string()),
  matches: z.array(searchMatchSchema),
  searched: z.object({ agents: z.number(), of: z.number() }),
});
export type SearchAnswer = z.infer<typeof searchSchema>;

export const recordSchema = z.object({
  messageId: z.string(),
  correlationId: z.string(),
  from: z.string(),
  to: z.string(),
  priority: z.string(),
  state: z.string(),
  enqueuedAt: ms,
  expiresAt: ms,
  attempts: z.number(),
  finishedAt: maybeMs,
  terminal: z.nullable(z.string()),
  receipts: z.array(z.object({ receiptId: z.string(), status: z.string(), at: ms, reason: z.nullable(z.string()) })),
  trace: z.array(z.object({ hop: z.string(), at: ms, detail: z.nullable(z.record(z.string(), z.unknown())) })),
});
export type MessageRecord = z.infer<typeof recordSchema>;

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
