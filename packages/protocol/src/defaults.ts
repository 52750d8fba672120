/** Defaults of PROTOCOL.md §2–§8. These seed configuration; they are not used as constants in the code paths. */
export const RELAY_DEFAULTS = {
  RELAY_AUDIENCE: "clawrelay",
  RELAY_MAX_BODY_BYTES: 262_144,
  RELAY_DEFAULT_TTL_SECONDS: 21_600,
  RELAY_QUEUE_MAX_ITEMS: 10_000,
  RELAY_QUEUE_MAX_BYTES: 67_108_864,
  RELAY_LOW_LANE_ADMIT_RATIO: 0.8,
  RELAY_SENDER_SHARE: 0.5,
  RELAY_RATE_PER_MINUTE: 60,
  RELAY_RATE_BURST: 30,
  RELAY_IDEMPOTENCY_SECONDS: 86_400,
  RELAY_MAX_IN_FLIGHT: 256,
  RELAY_ACK_TIMEOUT_MS: 30_000,
  RELAY_MAX_ATTEMPTS: 10,
  RELAY_STALE_AFTER_MS: 60_000,
  RELAY_FAILOVER_AFTER_MS: 10_000,
  RELAY_DELAYED_NOTICE_SECONDS: 900,
  RELAY_RECORD_RETENTION_SECONDS: 86_400,
} as const;

/** Fixed limits of the protocol text (not configurable there). */
export const PROTOCOL_LIMITS = {
  /** A connector sends a `health` frame at most this often, besides one after each `reconnect_ack` (§6). */
  healthMinIntervalMs: 10_000,
  maxTtlSeconds: 604_800,
  receiptTtlSeconds: 604_800,
  timestampSkewSeconds: 300,
  nonceWindowSeconds: 600,
  tokenClockToleranceSeconds: 60,
  tokenMaxLifetimeSeconds: 90 * 86_400,
  revocationPropagationSeconds: 60,
  maxFrameBytes: 1_048_576,
  maxItemsPerDeliverFrame: 64,
  /** Ids in one ack, nack or batched processed frame (§6). */
  maxIdsPerFrame: 1024,
  maxBytesPerDeliverFrame: 1_048_576,
  maxExpiredInHandshake: 100,
  reconnectFrameTimeoutMs: 10_000,
  invalidFrameLimit: 20,
  invalidFrameWindowMs: 60_000,
  redeliveryBackoffBaseMs: 1_000,
  redeliveryBackoffMaxMs: 60_000,
  redeliveryJitter: 0.2,
  breakerFailureThreshold: 5,
  breakerOpenMs: 30_000,
  receiptRetryWindowSeconds: 86_400,
  inboxDedupSeconds: 7 * 86_400,
} as const;

export const CONNECTOR_DEFAULTS = {
  listenHost: "127.0.0.1",
  listenPort: 19_400,
  reconnectMinMs: 500,
  reconnectMaxMs: 30_000,
  reconnectResetAfterMs: 60_000,
  /** After a session ends, draws stay under this for the restart window: back within 5 s of a restarted relay (§8). */
  reconnectFastMaxMs: 2_000,
  reconnectFastWindowMs: 120_000,
  /** After this many sessions in a row shorter than reconnectResetAfterMs (a flapping relay), no more restart windows. */
  reconnectFlapSessions: 20,
  /** Below RELAY_FAILOVER_AFTER_MS, so a live active connector is never failed over (§6, §8). */
  pingIntervalMs: 5_000,
  pongTimeoutMs: 15_000,
  hookBreakerFailures: 5,
  hookBreakerOpenMs: 30_000,
  outboxBreakerFailures: 5,
  outboxBreakerOpenMs: 30_000,
  /** The connector warns this long before its identity token's `exp` (log, /v1/status, health frame). */
  tokenExpiryWarnDays: 7,
} as const;
