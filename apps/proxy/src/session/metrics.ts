import {
  bucketIndex,
  emptyHistogram,
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
import type { Sql } from "../platform/sql.js";
import type { Meta } from "./storage/meta.js";

const HOUR_MS = 3_600_000;
export const hourOf = (now: number): number => Math.floor(now / HOUR_MS) * HOUR_MS;

/**
 * Hourly counters and latency histograms of one session, kept 48 h (PROTOCOL-level metrics of the
 * observability issue). One upsert per event; reading them happens only when reporting.
 */
export class SessionMetrics {
  /** Something changed since the last report. */
  dirty = true;

  constructor(private readonly sql: Sql) {}

  count(name: string, labels: Record<string, string>, by: number, now: number): void {
    this.sql.run(
      `INSERT INTO metric_counters (hour, name, labels, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (hour, name, labels) DO UPDATE SET value = value + excluded.value`,
      hourOf(now),
      name,
      JSON.stringify(labels),
      by,
    );
    this.dirty = true;
  }

  observe(name: string, ms: number, now: number): void {
    const latency = Math.max(0, ms);
    this.sql.run(
      `INSERT INTO metric_histograms (hour, name, bucket, count) VALUES (?, ?, ?, 1)
       ON CONFLICT (hour, name, bucket) DO UPDATE SET count = count + 1`,
      hourOf(now),
      name,
      bucketIndex(latency),
    );
    // The exact sum and range beside the buckets (metrics/latency-stats.ts): one row per hour.
    this.sql.run(
      `INSERT INTO metric_latency_stats (hour, name, count, sum_ms, min_ms, max_ms) VALUES (?, ?, 1, ?, ?, ?)
       ON CONFLICT (hour, name) DO UPDATE SET count = count + 1, sum_ms = sum_ms + excluded.sum_ms,
         min_ms = min(min_ms, excluded.min_ms), max_ms = max(max_ms, excluded.max_ms)`,
      hourOf(now),
      name,
      latency,
      latency,
      latency,
    );
    this.dirty = true;
  }

  /** The last 48 hours that have data, oldest first. */
  hours(now: number): HourSummary[] {
    const since = hourOf(now) - METRICS_RETENTION_MS + HOUR_MS;
    const byHour = new Map<number, HourSummary>();
    const hour = (h: number) => {
      let entry = byHour.get(h);
      if (!entry) {
        entry = { hour: h, counters: [], histograms: {} };
        byHour.set(h, entry);
      }
      return entry;
    };
    for (const row of this.sql.all<{ hour: number; name: string; labels: string; value: number }>(
      "SELECT hour, name, labels, value FROM metric_counters WHERE hour >= ?",
      since,
    )) {
      hour(row.hour).counters.push({
        name: row.name,
        labels: JSON.parse(row.labels) as Record<string, string>,
        value: row.value,
      });
    }
    for (const row of this.sql.all<{ hour: number; name: string; bucket: number; count: number }>(
      "SELECT hour, name, bucket, count FROM metric_histograms WHERE hour >= ?",
      since,
    )) {
      const histograms = hour(row.hour).histograms;
      const counts = histograms[row.name] ?? emptyHistogram();
      counts[row.bucket] = (counts[row.bucket] ?? 0) + row.count;
      histograms[row.name] = counts;
    }
    for (const row of this.sql.all<{
      hour: number;
      name: string;
      count: number;
      sum: number;
      min: number;
      max: number;
    }>(
      "SELECT hour, name, count, sum_ms AS sum, min_ms AS min, max_ms AS max FROM metric_latency_stats WHERE hour >= ?",
      since,
    )) {
      const labels = { histogram: row.name };
      for (const stat of ["count", "sum", "min", "max"] as const) {
        hour(row.hour).counters.push({ name: LATENCY_STAT_COUNTERS[stat], labels, value: row[stat] });
      }
    }
    return [...byHour.values()].sort((a, b) => a.hour - b.hour);
  }

  prune(now: number): void {
    const before = hourOf(now) - METRICS_RETENTION_MS;
    this.sql.run("DELETE FROM metric_counters WHERE hour < ?", before);
    this.sql.run("DELETE FROM metric_histograms WHERE hour < ?", before);
    this.sql.run("DELETE FROM metric_latency_stats WHERE hour < ?", before);
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
