import { z } from "zod";
import { prioritySchema } from "./bodies.js";
import { PROTOCOL_LIMITS } from "./defaults.js";
import { receiptSchema } from "./receipts.js";

const id = z.string().min(1).max(128);
const ids = z.array(id).min(1).max(PROTOCOL_LIMITS.maxIdsPerFrame);
const role = z.enum(["active", "standby"]);

// ---- connector → relay ----------------------------------------------------

export const reconnectFrameSchema = z.object({
  type: z.literal("reconnect"),
  connectorId: z.string().min(1).max(128),
  lastReceivedId: id.nullable(),
  offlineSinceMs: z.number().int().nonnegative().nullable(),
  mode: z.enum(["auto", "takeover"]),
});
export const ackFrameSchema = z.object({ type: z.literal("ack"), ids });
export const nackFrameSchema = z.object({
  type: z.literal("nack"),
  ids,
  reason: z.enum(["inbox_full", "invalid", "shutting_down"]),
  retryAfterMs: z.number().int().nonnegative().max(86_400_000).optional(),
});
const processedOutcome = z.enum(["processed", "failed", "dead_lettered"]);
const processedReason = z.string().max(500).optional();
export const processedItemSchema = z.object({ id, outcome: processedOutcome, reason: processedReason });
export const processedSingleFrameSchema = z.object({
  type: z.literal("processed"),
  id,
  outcome: processedOutcome,
  reason: processedReason,
});
export const processedBatchFrameSchema = z.object({
  type: z.literal("processed"),
  items: z.array(processedItemSchema).min(1).max(PROTOCOL_LIMITS.maxIdsPerFrame),
});
/**
 * Both forms of `processed` (PROTOCOL.md §6): one report, or 1–1024 of them handled in order.
 * zod 4's discriminated union needs each option to name its `type`, which a plain union does
 * not; the loose object in front of the pipe names it, the union behind it picks the form.
 */
export const processedFrameSchema = z
  .looseObject({ type: z.literal("processed") })
  .pipe(z.union([processedSingleFrameSchema, processedBatchFrameSchema]));

const count = z.number().int().nonnegative();
const at = z.number().int().nonnegative();
/**
 * The connector's own state (PROTOCOL.md §6), times in unix ms. `oldestAt` is null with nothing
 * pending, `tokenExpiresAt` when the connector does not know its token's expiry.
 */
export const connectorHealthSchema = z.object({
  hook: z.object({
    breaker: z.enum(["closed", "open", "half_open"]),
    lastError: z.string().max(200).optional(),
    lastSuccessAt: at.optional(),
  }),
  inbox: z.object({ pending: count, oldestAt: at.nullable(), deadLetters: count }),
  outbox: z.object({ pending: count, oldestAt: at.nullable() }),
  tokenExpiresAt: at.nullable(),
  version: z.string().min(1).max(64),
});
export const healthFrameSchema = connectorHealthSchema.extend({ type: z.literal("health") });

/** The reports a `processed` frame carries, in order, whichever form it came in. */
export function processedItems(frame: ProcessedFrame): ProcessedItem[] {
  if ("items" in frame) return frame.items;
  return [{ id: frame.id, outcome: frame.outcome, ...(frame.reason !== undefined ? { reason: frame.reason } : {}) }];
}

// ---- relay → connector ----------------------------------------------------

export const expiredSummarySchema = z.object({
  id,
  correlationId: z.string(),
  from: z.string(),
  expiredAt: z.number().int(),
});
export const laneCountsSchema = z.object({
  critical: z.number().int().nonnegative(),
  normal: z.number().int().nonnegative(),
  low: z.number().int().nonnegative(),
});
export const reconnectAckFrameSchema = z.object({
  type: z.literal("reconnect_ack"),
  sessionId: z.string(),
  role,
  queuedCount: z.number().int().nonnegative(),
  lanes: laneCountsSchema,
  expiredCount: z.number().int().nonnegative(),
  expired: z.array(expiredSummarySchema).max(100),
  oldestQueuedAt: z.number().int().nullable(),
  lastAckedId: z.string().nullable(),
  resync: z.boolean(),
});
export const messageItemSchema = z.object({
  kind: z.literal("message"),
  id,
  seq: z.number().int().nonnegative(),
  correlationId: z.string(),
  from: z.string(),
  priority: prioritySchema,
  payload: z.json(),
  contentType: z.string(),
  enqueuedAt: z.number().int(),
  expiresAt: z.number().int(),
  attempt: z.number().int().positive(),
  conversationId: z.string().optional(),
  inReplyTo: z.string().optional(),
});
export const receiptItemSchema = z.object({ kind: z.literal("receipt"), id, receipt: receiptSchema });
export const deliverItemSchema = z.discriminatedUnion("kind", [messageItemSchema, receiptItemSchema]);
export const deliverFrameSchema = z.object({
  type: z.literal("deliver"),
  items: z.array(deliverItemSchema).min(1).max(PROTOCOL_LIMITS.maxItemsPerDeliverFrame),
});
export const roleFrameSchema = z.object({ type: z.literal("role"), role, reason: z.string() });
export const errorFrameSchema = z.object({ type: z.literal("error"), code: z.string(), message: z.string() });

export const connectorFrameSchema = z.discriminatedUnion("type", [
  reconnectFrameSchema,
  ackFrameSchema,
  nackFrameSchema,
  processedFrameSchema,
  healthFrameSchema,
]);
export const relayFrameSchema = z.discriminatedUnion("type", [
  reconnectAckFrameSchema,
  deliverFrameSchema,
  roleFrameSchema,
  errorFrameSchema,
]);
/** Every frame of PROTOCOL.md §6, one union on `type`. */
export const frameSchema = z.discriminatedUnion("type", [
  reconnectFrameSchema,
  ackFrameSchema,
  nackFrameSchema,
  processedFrameSchema,
  healthFrameSchema,
  reconnectAckFrameSchema,
  deliverFrameSchema,
  roleFrameSchema,
  errorFrameSchema,
]);

export type ReconnectFrame = z.infer<typeof reconnectFrameSchema>;
export type AckFrame = z.infer<typeof ackFrameSchema>;
export type NackFrame = z.infer<typeof nackFrameSchema>;
export type ProcessedFrame = z.infer<typeof processedFrameSchema>;
export type ProcessedItem = z.infer<typeof processedItemSchema>;
export type ConnectorHealth = z.infer<typeof connectorHealthSchema>;
export type HealthFrame = z.infer<typeof healthFrameSchema>;

/**
 * Everything in a health report but its times (PROTOCOL.md §6: a connector sends another frame
 * when any field but the times changes). Both sides compare reports by this key.
 */
export function healthSubstance(health: ConnectorHealth): string {
  return JSON.stringify([
    health.hook.breaker,
    health.hook.lastError ?? null,
    health.inbox.pending,
    health.inbox.deadLetters,
    health.outbox.pending,
    health.version,
  ]);
}
export type ProcessedSingleFrame = z.infer<typeof processedSingleFrameSchema>;
export type ReconnectAckFrame = z.infer<typeof reconnectAckFrameSchema>;
export type DeliverFrame = z.infer<typeof deliverFrameSchema>;
export type RoleFrame = z.infer<typeof roleFrameSchema>;
export type ErrorFrame = z.infer<typeof errorFrameSchema>;
export type MessageItem = z.infer<typeof messageItemSchema>;
export type ReceiptItem = z.infer<typeof receiptItemSchema>;
export type DeliverItem = z.infer<typeof deliverItemSchema>;
export type LaneCounts = z.infer<typeof laneCountsSchema>;
export type ConnectorFrame = z.infer<typeof connectorFrameSchema>;
export type RelayFrame = z.infer<typeof relayFrameSchema>;
export type Frame = z.infer<typeof frameSchema>;

export type ParsedFrame<T> =
  | { ok: true; frame: T }
  | { ok: false; code: "invalid_frame" | "frame_too_big"; message: string };

/**
 * The one frame parser, used by the relay and the connector. Takes raw socket data
 * (text or bytes) and the schema of the frames that side accepts; never throws.
 */
export function parseFrame<S extends z.ZodType>(
  data: string | ArrayBuffer | ArrayBufferView,
  schema: S,
  maxBytes = 1_048_576,
): ParsedFrame<z.infer<S>> {
  let text: string;
  if (typeof data === "string") {
    text = data;
  } else {
    const bytes =
      data instanceof ArrayBuffer
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength > maxBytes) return { ok: false, code: "frame_too_big", message: "frame exceeds 1 MiB" };
    text = new TextDecoder().decode(bytes);
  }
  // A JS string's length in UTF-16 units is at most 3x smaller than its UTF-8 size; only
  // measure exactly when it could be over the cap.
  if (text.length * 3 > maxBytes && new TextEncoder().encode(text).byteLength > maxBytes) {
    return { ok: false, code: "frame_too_big", message: "frame exceeds 1 MiB" };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: "invalid_frame", message: "frame is not JSON" };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
    return { ok: false, code: "invalid_frame", message: `invalid frame${where}: ${issue?.message ?? "unknown"}` };
  }
  return { ok: true, frame: result.data };
}

/** Serialise a frame for the wire. Typed so only valid frames are sent. */
export function encodeFrame(frame: Frame): string {
  return JSON.stringify(frame);
}
