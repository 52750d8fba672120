import {
  bucketIndex,
  emptyHistogram,
  FINE_BUCKET_MS,
  type FineBucketSummary,
  type HourSummary,
  METRICS_RETENTION_MS,
  mergeHistograms,
  percentile,
} from "@clawrelay/protocol";
import {
  clampToRange,
  isLatencyStatCounter,
  LATENCY_STAT_COUNTERS,
  type LatencyRange,
  mergeRange,
  rangesOfCounters,
} from "../metrics/latency-stats.js";
import { fineBucketOf, fineWindowStart, HOUR_MS, hourOf, windowStart } from "../metrics/periods.js";
import type { Sql } from "../platform/sql.js";
import { METRIC_TABLES, MetricsBuffer } from "./metrics-buffer.js";
import type { Meta } from "./storage/meta.js";

/** Each metrics table and how its rows of one period add up (the compaction's GROUP BY and merge). */
const COMPACTIONS = Object.values(METRIC_TABLES).map((t) => ({
  ...t,
  keys: t.keys.join(", "),
  values: t.values.join(", "),
}));

type Contents = Omit<HourSummary, "hour">;

/**
 * Counters and latency histograms of one session (PROTOCOL-level metrics of the observability
 * issue): every event goes into its 5-minute bucket, merged in memory and written behind (one
 * upsert per row at a flush; every read from SQLite flushes first); `prune` compacts the
 * buckets older than 6 h into hourly rows and drops what is older than 48 h, so a series holds
 * at most about 72 + 42 rows. Reading them happens only when reporting.
 */
export class SessionMetrics {
  /** Something changed since the last report. */
  dirty = true;
  /** Periods before this have only hourly rows left (known once compacted in this instance). */
  private compactedBefore = 0;

  /** Events since the last flush, merged per row (write-behind.ts says when they are written). */
  private readonly pending = new MetricsBuffer();

  constructor(private readonly sql: Sql) {}

  count(name: string, labels: Record<string, string>, by: number, now: number): void {
    this.pending.add("counters", fineBucketOf(now), [name, JSON.stringify(labels)], [by]);
    this.dirty = true;
  }

  observe(name: string, ms: number, now: number): void {
    const latency = Math.max(0, ms);
    this.pending.add("histograms", fineBucketOf(now), [name, bucketIndex(latency)], [1]);
    // The exact sum and range beside the buckets (metrics/latency-stats.ts): one row per period.
    this.pending.add("latency", fineBucketOf(now), [name], [1, latency, latency, latency]);
    this.dirty = true;
  }

  /** Whether events wait in memory for `flush` (write-behind.ts). */
  hasPending(): boolean {
    return this.pending.hasPending();
  }

  /** Writes the pending events: one upsert per distinct row (period, name, labels or bucket). */
  flush(): void {
    this.pending.flush(this.sql);
  }

  /** The last 48 hours that have data, oldest first (5-minute rows summed into their hour). */
  hours(now: number): HourSummary[] {
    this.flush();
    return [...this.read(windowStart(now), HOUR_MS)].map(([hour, contents]) => ({ hour, ...contents }));
  }

  /** The 5-minute buckets of the last 6 hours that have data, oldest first. */
  fiveMinutes(now: number): FineBucketSummary[] {
    this.flush();
    // Compacted hourly rows all start before the fine window (see `prune`), so none is read here.
    return [...this.read(fineWindowStart(now), FINE_BUCKET_MS)].map(([start, contents]) => ({ start, ...contents }));
  }

  /** Rows from `since` on, summed into periods `width` long, oldest first. */
  private read(since: number, width: number): Map<number, Contents> {
    const periods = new Map<number, Contents>();
    const period = (start: number) => {
      let entry = periods.get(start);
      if (!entry) {
        entry = { counters: [], histograms: {} };
        periods.set(start, entry);
      }
      return entry;
    };
    const startOf = `period_start - period_start % ${width}`;
    for (const row of this.sql.all<{ start: number; name: string; labels: string; value: number }>(
      `SELECT ${startOf} AS start, name, labels, SUM(value) AS value FROM metric_counters
       WHERE period_start >= ? GROUP BY 1, name, labels ORDER BY 1`,
      since,
    )) {
      const labels = JSON.parse(row.labels) as Record<string, string>;
      period(row.start).counters.push({ name: row.name, labels, value: row.value });
    }
    for (const row of this.sql.all<{ start: number; name: string; bucket: number; count: number }>(
      `SELECT ${startOf} AS start, name, bucket, SUM(count) AS count FROM metric_histograms
       WHERE period_start >= ? GROUP BY 1, name, bucket ORDER BY 1`,
      since,
    )) {
      const histograms = period(row.start).histograms;
      const counts = histograms[row.name] ?? emptyHistogram();
      counts[row.bucket] = (counts[row.bucket] ?? 0) + row.count;
      histograms[row.name] = counts;
    }
    for (const row of this.sql.all<{
      start: number;
      name: string;
      count: number;
      sum: number;
      min: number;
      max: number;
    }>(
      `SELECT ${startOf} AS start, name, SUM(count) AS count, SUM(sum_ms) AS sum, MIN(min_ms) AS min,
         MAX(max_ms) AS max FROM metric_latency_stats WHERE period_start >= ? GROUP BY 1, name ORDER BY 1`,
      since,
    )) {
      const labels = { histogram: row.name };
      for (const stat of ["count", "sum", "min", "max"] as const) {
        period(row.start).counters.push({ name: LATENCY_STAT_COUNTERS[stat], labels, value: row[stat] });
      }
    }
    return new Map([...periods].sort(([a], [b]) => a - b));
  }

  /**
   * Drops periods older than 48 h, and folds the 5-minute rows of every hour wholly before the
   * fine window into one row for that hour (counts and sums added, min and max kept), so totals
   * stay exact and a series stays bounded. Idempotent; scans again only once a new hour is due.
   */
  prune(now: number): void {
    this.flush();
    const before = hourOf(now) - METRICS_RETENTION_MS;
    for (const { table } of COMPACTIONS) this.sql.run(`DELETE FROM ${table} WHERE period_start < ?`, before);
    const cutoff = hourOf(fineWindowStart(now));
    if (cutoff <= this.compactedBefore) return;
    for (const { table, keys, values, select, merge } of COMPACTIONS) {
      const fine = `period_start >= ? AND period_start < ? AND period_start % ${HOUR_MS} != 0`;
      this.sql.run(
        `INSERT INTO ${table} (period_start, ${keys}, ${values})
         SELECT period_start - period_start % ${HOUR_MS}, ${keys}, ${select} FROM ${table}
         WHERE ${fine} GROUP BY 1, ${keys}
         ON CONFLICT (period_start, ${keys}) DO UPDATE SET ${merge}`,
        this.compactedBefore,
        cutoff,
      );
      this.sql.run(`DELETE FROM ${table} WHERE ${fine}`, this.compactedBefore, cutoff);
    }
    this.compactedBefore = cutoff;
  }
}

/**
 * Connection uptime: add the time since it was last counted when an active connector was there
 * all along, then restart the count. Called at every change of the active connection and at
 * each report, so offline gaps are never counted.
 */
export function countConnectedTime(metrics: SessionMetrics, meta: Meta, activeUntilNow: boolean, now: number): void {
  const since = meta.getNumber("uptime_counted_at", 0);
  if (activeUntilNow && since > 0 && now > since) metrics.count("connected_ms", {}, now - since, now);
  meta.set("uptime_counted_at", now);
}

export interface MetricsView {
  latencyMs: Record<"ack" | "processed", { p50: number | null; p95: number | null; p99: number | null; count: number }>;
  /** Counter totals over the kept 48 h, by name and labels (`messages_in{peer="alice"}`). */
  totals: Record<string, number>;
  uptimePercent: number | null;
  reconnects: number;
}

/** What `GET …/status` shows of the metrics: 48-hour percentiles, totals and uptime. */
export function metricsView(hours: HourSummary[], now: number, observedSince: number | null): MetricsView {
  const ack = emptyHistogram();
  const processed = emptyHistogram();
  const totals: Record<string, number> = {};
  const ranges = latencyRanges(hours);
  for (const hour of hours) {
    mergeHistograms(ack, hour.histograms.ack_latency_ms ?? []);
    mergeHistograms(processed, hour.histograms.processed_latency_ms ?? []);
    for (const c of hour.counters) {
      if (isLatencyStatCounter(c.name)) continue;
      const labels = Object.entries(c.labels).map(([k, v]) => `${k}="${v}"`);
      const key = labels.length ? `${c.name}{${labels.join(",")}}` : c.name;
      totals[key] = (totals[key] ?? 0) + c.value;
    }
  }
  const quantiles = (h: number[], range: LatencyRange | undefined) => {
    const count = h.reduce((a, b) => a + b, 0);
    const at = (p: number) => clampToRange(percentile(h, p), range, count);
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), count };
  };
  const windowStart = Math.max(now - METRICS_RETENTION_MS, observedSince ?? now);
  const span = now - windowStart;
  return {
    latencyMs: {
      ack: quantiles(ack, ranges.get("ack_latency_ms")),
      processed: quantiles(processed, ranges.get("processed_latency_ms")),
    },
    totals,
    uptimePercent: span > 0 ? Math.min(100, (100 * (totals.connected_ms ?? 0)) / span) : null,
    reconnects: totals.reconnects ?? 0,
  };
}

/** The observed range of each histogram over `hours`, from the stat counters `hours()` reports. */
function latencyRanges(hours: readonly HourSummary[]): Map<string, LatencyRange> {
  const ranges = new Map<string, LatencyRange>();
  for (const hour of hours) {
    for (const [name, range] of rangesOfCounters(hour.counters)) ranges.set(name, mergeRange(ranges.get(name), range));
  }
  return ranges;
}
