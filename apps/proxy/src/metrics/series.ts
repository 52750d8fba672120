import { FINE_BUCKET_MS } from "@clawrelay/protocol";
import { FAILURE_OUTCOMES } from "./aggregate.js";
import { counterSum, type Percentiles, percentilesOf, type Totals } from "./digest.js";
import {
  type FineTotals,
  fineBucketOf,
  fineWindowStart,
  HOUR_MS,
  type HourTotals,
  hourOf,
  windowStart,
} from "./periods.js";

export interface FlowTotals {
  messagesIn: number;
  /** Handed to the connector (outcome `acked`). */
  delivered: number;
  processed: number;
  /** failed + expired + shed + dead_lettered. */
  failed: number;
}

/** What one period of a chart shows: the flow of messages and the latency percentiles. */
export interface FlowPoint extends FlowTotals {
  ackMs: Percentiles;
  processedMs: Percentiles;
}

export interface HourPoint extends FlowPoint {
  hour: number;
}

/** A 5-minute bucket of the last 6 h, drawn at its start. */
export interface FinePoint extends FlowPoint {
  start: number;
}

/** The charts' series: 48 h by hour, the last 6 h by 5 minutes. */
export interface FlowRates {
  hourly: HourPoint[];
  fiveMinute: FinePoint[];
}

export function flowOf(counters: Record<string, number>): FlowTotals {
  return {
    messagesIn: counterSum(counters, "messages_in"),
    delivered: counterSum(counters, "messages_out", { outcome: "acked" }),
    processed: counterSum(counters, "messages_out", { outcome: "processed" }),
    failed: FAILURE_OUTCOMES.reduce((sum, outcome) => sum + counterSum(counters, "messages_out", { outcome }), 0),
  };
}

const pointOf = (totals: Totals | undefined): FlowPoint => ({
  ...flowOf(totals?.counters ?? {}),
  ackMs: percentilesOf(totals, "ack_latency_ms"),
  processedMs: percentilesOf(totals, "processed_latency_ms"),
});

/** One point per `step` from `first` to `last`, oldest first, zeros where nothing was reported. */
function pointsEvery<T extends Totals>(
  periods: readonly T[],
  startOf: (period: T) => number,
  first: number,
  last: number,
  step: number,
): [number, FlowPoint][] {
  const byStart = new Map(periods.map((p) => [startOf(p), p]));
  const points: [number, FlowPoint][] = [];
  for (let start = first; start <= last; start += step) points.push([start, pointOf(byStart.get(start))]);
  return points;
}

/** One point per hour of the 48 h window. */
export const hourlySeries = (hours: readonly HourTotals[], now: number): HourPoint[] =>
  pointsEvery(hours, (h) => h.hour, windowStart(now), hourOf(now), HOUR_MS).map(([hour, p]) => ({ hour, ...p }));

/** One point per 5-minute bucket of the last 6 h (72). */
export const fiveMinuteSeries = (buckets: readonly FineTotals[], now: number): FinePoint[] =>
  pointsEvery(buckets, (b) => b.start, fineWindowStart(now), fineBucketOf(now), FINE_BUCKET_MS).map(([start, p]) => ({
    start,
    ...p,
  }));

/**
 * Messages per second over the 60 minutes before `now`, from the 5-minute buckets: the ones
 * inside the window whole, plus the share of the one reaching back before it (assumed spread
 * evenly). For the hour after an upgrade, buckets a session or shard did not report yet are
 * missing from this, as they are from the 1 h chart.
 */
export function lastHourRate(points: readonly FinePoint[], now: number, pick: (p: FinePoint) => number): number {
  const from = now - HOUR_MS;
  let sum = 0;
  for (const point of points) {
    const end = point.start + FINE_BUCKET_MS;
    if (point.start > now || end <= from) continue;
    sum += pick(point) * Math.min(1, (end - from) / FINE_BUCKET_MS);
  }
  return sum / 3600;
}
