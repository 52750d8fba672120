import type { Priority } from "@clawrelay/protocol";

/** The reference model's vocabulary (see reference.ts). */

export interface ModelConfig {
  maxItems: number;
  maxBytes: number;
  lowAdmitRatio: number;
  senderShare: number;
  ratePerMinute: number;
  burst: number;
  idempotencyMs: number;
  ackTimeoutMs: number;
  maxAttempts: number;
  maxInFlight: number;
  defaultTtlSeconds: number;
  retentionMs: number;
  staleMs: number;
  failoverMs: number;
}

export interface PeerRule {
  allow?: boolean;
  ratePerMinute?: number;
  burst?: number;
  senderShare?: number;
  ttlSeconds?: number;
}

export interface SendBodyModel {
  payload: unknown;
  priority?: Priority;
  ttlSeconds?: number;
  conversationId?: string;
  inReplyTo?: string;
}

export interface SendRequest {
  sender: number;
  body: SendBodyModel;
  key: string | null;
}

export type ItemState = "queued" | "inflight" | "acked" | "expired" | "shed" | "dead_lettered";
export type FailureStatus = "expired" | "shed" | "dead_lettered";

export interface ModelItem {
  /** Arrival order in this model (the product's own `seq` is shared with receipts). */
  seq: number;
  /** The real message id, filled in by the driver from the 202 answer. */
  id: string;
  sender: number;
  lane: number;
  bytes: number;
  enqueuedAt: number;
  expiresAt: number;
  state: ItemState;
  /** Unacknowledged sends that count towards RELAY_MAX_ATTEMPTS (a nack or a closed socket gives one back). */
  attempts: number;
  /** It went out in a deliver frame at least once. */
  everSent: boolean;
  /** Earliest and latest moment the item may be sent again (equal unless a jittered backoff is running). */
  nextAt: number;
  nextAtLatest: number;
  ackDeadline: number | null;
  connection: number | null;
  finishedAt: number | null;
  /** Its record was swept after RELAY_RECORD_RETENTION_SECONDS. */
  purged: boolean;
  payload: unknown;
  /** §4: passed on unchanged (deliver item, record); undefined when the send had none. */
  conversationId: string | undefined;
  inReplyTo: string | undefined;
}

export interface Delivery {
  item: ModelItem;
  attempt: number;
}

export type SendOutcome =
  | { kind: "queued"; item: ModelItem; queueDepth: number; shed: ModelItem[] }
  | { kind: "duplicate"; of: ModelItem }
  | { kind: "refused"; code: RefusalCode; retryAfterSeconds?: number };
export type RefusalCode = "sender_blocked" | "idempotency_key_reused" | "rate_limited" | "queue_full";

export interface ExpectedReconnectAck {
  lanes: { critical: number; normal: number; low: number };
  queuedCount: number;
  expired: ModelItem[];
  oldestQueuedAt: number | null;
  lastAckedId: string | null;
  resync: boolean;
}
