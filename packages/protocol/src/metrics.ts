import { z } from "zod";
import { connectorHealthSchema } from "./frames.js";

/**
 * Latency histograms: fixed, log-spaced bucket upper bounds in milliseconds (the last bucket is
 * everything above). Fixed bounds make histograms from many sessions and hours add up exactly.
 */
export const LATENCY_BUCKETS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000,
  21_600_000, 86_400_000,
] as const;
/** Number of buckets, counting the overflow bucket. */
export const HISTOGRAM_SIZE = LATENCY_BUCKETS_MS.length + 1;

/** Index of the bucket a latency falls in: the first bound it does not exceed. */
export function bucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= (LATENCY_BUCKETS_MS[i] ?? 0)) return i;
  return LATENCY_BUCKETS_MS.length;
}

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_SIZE).fill(0);
}

export function mergeHistograms(into: number[], add: readonly number[]): number[] {
  for (let i = 0; i < HISTOGRAM_SIZE; i++) into[i] = (into[i] ?? 0) + (add[i] ?? 0);
  return into;
}

/**
 * The p-quantile (0 < p ≤ 1) of a histogram, interpolated linearly inside the bucket that holds
 * it (so the error is bounded by that bucket's width). Null for an empty histogram.
 */
export function percentile(counts: readonly number[], p: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = p * total;
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_SIZE; i++) {
    const count = counts[i] ?? 0;
    if (count === 0) continue;
    if (seen + count >= rank) {
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
      const upper = LATENCY_BUCKETS_MS[i] ?? lower * 2;
      const within = Math.min(1, Math.max(0, (rank - seen) / count));
      return lower + (upper - lower) * within;
    }
    seen += count;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] ?? null;
}

/** A counter sample: name, labels and the value for one hour. */
export const counterSampleSchema = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  value: z.number(),
});
export type CounterSample = z.infer<typeof counterSampleSchema>;

const bucketContents = {
  counters: z.array(counterSampleSchema),
  /** Histogram name (e.g. `ack_latency_ms`) → bucket counts (HISTOGRAM_SIZE long). */
  histograms: z.record(z.string(), z.array(z.number())),
};

export const hourSummarySchema = z.object({
  /** Start of the hour, unix ms. */
  hour: z.number().int(),
  ...bucketContents,
});
export type HourSummary = z.infer<typeof hourSummarySchema>;

/** The same counters and histograms for one 5-minute bucket (FINE_BUCKET_MS) of the recent hours. */
export const fineBucketSummarySchema = z.object({
  /** Start of the bucket, unix ms (a multiple of FINE_BUCKET_MS). */
  start: z.number().int(),
  ...bucketContents,
});
export type FineBucketSummary = z.infer<typeof fineBucketSummarySchema>;

const laneUsage = z.object({ items: z.number(), bytes: z.number(), oldestQueuedAt: z.number().nullable() });

/**
 * What a relay session reports to its metrics shard, at most every 10 s while something changed.
 * Counter names: `messages_in{peer}`, `messages_out{peer,outcome}` (outcome: acked, processed,
 * failed, expired, shed, dead_lettered), `receipts{status}`, `auth_failures{code}`,
 * `reconnects{}`, `connected_ms{}`. Histograms: `ack_latency_ms`, `processed_latency_ms`.
 */
export const sessionSummarySchema = z.object({
  agentId: z.string(),
  at: z.number().int(),
  known: z.boolean(),
  connections: z.array(
    z.object({
      connectorId: z.string(),
      role: z.string(),
      connectedAt: z.number(),
      lastPingAt: z.number().nullable(),
      /** The socket's latest `health` frame (PROTOCOL.md §6); absent from older sessions. */
      health: connectorHealthSchema.extend({ receivedAt: z.number() }).nullable().optional(),
    }),
  ),
  queue: z.object({
    items: z.number(),
    bytes: z.number(),
    inFlight: z.number(),
    oldestQueuedAt: z.number().nullable(),
    lanes: z.object({ critical: laneUsage, normal: laneUsage, low: laneUsage }),
    receipts: z.object({ items: z.number(), bytes: z.number() }),
  }),
  breaker: z.object({ state: z.string(), consecutiveFailures: z.number(), openedAt: z.number().nullable() }),
  receiptBreakers: z.array(z.object({ destination: z.string(), state: z.string(), consecutiveFailures: z.number() })),
  /** The last 48 hours that have data, oldest first. */
  hours: z.array(hourSummarySchema),
  /**
   * The 5-minute buckets of the last 6 h (FINE_RETENTION_MS) that have data, oldest first: the
   * same events as the matching hours, finer. Absent from sessions older than the fine buckets.
   */
  fiveMinutes: z.array(fineBucketSummarySchema).optional(),
  /** Recent failures (expired, shed, dead-lettered, failed), newest first, at most 20. */
  recentFailures: z.array(
    z.object({
      messageId: z.string(),
      correlationId: z.string(),
      from: z.string(),
      status: z.string(),
      at: z.number(),
      reason: z.string().nullable(),
    }),
  ),
});
export type SessionSummary = z.infer<typeof sessionSummarySchema>;

/** How often at most a session reports (PROTOCOL issue: "at most every 10 s"). */
export const SUMMARY_INTERVAL_MS = 10_000;
/** Hourly buckets are kept this long. */
export const METRICS_RETENTION_MS = 48 * 3_600_000;
/** Recent metrics are kept in buckets this wide (so a 1 h chart has 12 points)… */
export const FINE_BUCKET_MS = 5 * 60_000;
/** …for this long; older buckets are compacted into hourly ones. */
export const FINE_RETENTION_MS = 6 * 3_600_000;
/** Metrics shards: sessions report to shard hash(agentId) mod this. */
export const METRICS_SHARDS = 16;

/** FNV-1a of the agent id, for a stable shard. */
export function metricsShardOf(agentId: string, shards = METRICS_SHARDS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < agentId.length; i++) {
    hash ^= agentId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}
