import { FINE_BUCKET_MS, FINE_RETENTION_MS, METRICS_RETENTION_MS } from "@clawrelay/protocol";
import { addTotals, type Totals } from "./digest.js";

/**
 * The periods metrics are kept in: hours for 48 h, and 5-minute buckets for the last 6 h (so
 * the 1 h and 6 h charts have 12 and 72 points). Sessions and shards cut time the same way.
 */
export const HOUR_MS = 3_600_000;
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;
export const fineBucketOf = (ms: number): number => Math.floor(ms / FINE_BUCKET_MS) * FINE_BUCKET_MS;

/** First hour start inside the 48 h window ending at `now`. */
export const windowStart = (now: number): number => hourOf(now) - METRICS_RETENTION_MS + HOUR_MS;
/** First 5-minute bucket start inside the 6 h window ending at `now` (72 buckets). */
export const fineWindowStart = (now: number): number => fineBucketOf(now) - FINE_RETENTION_MS + FINE_BUCKET_MS;

/** Totals of one period: an hour (`hour`) or a 5-minute bucket (`start`). */
export interface HourTotals extends Totals {
  /** Start of the hour, unix ms. */
  hour: number;
}
export interface FineTotals extends Totals {
  /** Start of the 5-minute bucket, unix ms. */
  start: number;
}

/** Adds the periods from `since` on into `into`, keyed by their start (`startOf`). */
export function mergePeriods<T extends Totals>(
  into: Map<number, T>,
  periods: readonly T[],
  since: number,
  startOf: (period: T) => number,
  blank: (start: number) => T,
): void {
  for (const period of periods) {
    const start = startOf(period);
    if (start < since) continue;
    const target = into.get(start) ?? blank(start);
    addTotals(target, period);
    into.set(start, target);
  }
}

export const blankHour = (hour: number): HourTotals => ({ hour, counters: {}, histograms: {} });
export const blankFine = (start: number): FineTotals => ({ start, counters: {}, histograms: {} });
