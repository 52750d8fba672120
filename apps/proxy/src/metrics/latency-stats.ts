/**
 * Exact statistics of the latency observations, kept beside the bucket counts: the buckets give
 * percentiles and Prometheus buckets, these give the exact `_sum` and the observed range that a
 * percentile must stay inside (one 150 ms call is p50 = p95 = p99 = 150 ms, not 150/195/199).
 *
 * A session keeps one row per hour and histogram (session/metrics.ts) and reports it as four
 * counter samples labelled `{histogram}`, so the SessionSummary schema needs no new field.
 */
export const LATENCY_STAT_COUNTERS = {
  count: "latency_count",
  sum: "latency_sum_ms",
  min: "latency_min_ms",
  max: "latency_max_ms",
} as const;

const STAT_NAMES: ReadonlySet<string> = new Set(Object.values(LATENCY_STAT_COUNTERS));

/** True for the counters above: they are statistics of a histogram, not counts of events. */
export const isLatencyStatCounter = (name: string): boolean => STAT_NAMES.has(name);

/** The observed range of the observations that carry statistics, and how many those are. */
export interface LatencyRange {
  count: number;
  min: number;
  max: number;
}

export function mergeRange(into: LatencyRange | undefined, add: LatencyRange): LatencyRange {
  if (!into) return { ...add };
  return { count: into.count + add.count, min: Math.min(into.min, add.min), max: Math.max(into.max, add.max) };
}

/**
 * Clamps a percentile into the observed range — only when the range covers every observation of
 * the histogram (observations recorded before sessions kept statistics have none, and a range
 * that misses some of them proves nothing about them).
 */
export function clampToRange(value: number | null, range: LatencyRange | undefined, total: number): number | null {
  if (value === null || !range || total === 0 || range.count !== total) return value;
  return Math.min(range.max, Math.max(range.min, value));
}

/** One hour's ranges by histogram name, from its counter samples (incomplete statistics are ignored). */
export function rangesOfCounters(
  samples: readonly { name: string; labels: Record<string, string>; value: number }[],
): Map<string, LatencyRange> {
  const partial = new Map<string, Partial<LatencyRange>>();
  for (const sample of samples) {
    const histogram = sample.labels.histogram;
    if (histogram === undefined || !Number.isFinite(sample.value)) continue;
    const stat = partial.get(histogram) ?? {};
    if (sample.name === LATENCY_STAT_COUNTERS.count) stat.count = sample.value;
    else if (sample.name === LATENCY_STAT_COUNTERS.min) stat.min = sample.value;
    else if (sample.name === LATENCY_STAT_COUNTERS.max) stat.max = sample.value;
    else continue;
    partial.set(histogram, stat);
  }
  const ranges = new Map<string, LatencyRange>();
  for (const [histogram, { count, min, max }] of partial) {
    if (count !== undefined && min !== undefined && max !== undefined) ranges.set(histogram, { count, min, max });
  }
  return ranges;
}
