import { runInDurableObject } from "cloudflare:test";
import { FINE_BUCKET_MS, type HourSummary } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { LATENCY_STAT_COUNTERS } from "../../src/metrics/latency-stats.js";
import { fineWindowStart, HOUR_MS, hourOf, windowStart } from "../../src/metrics/periods.js";
import { Sql } from "../../src/platform/sql.js";
import { metricsView, SessionMetrics } from "../../src/session/metrics.js";
import { uniqueId } from "../support/session.js";
import { sessionStub } from "../support/socket.js";

const MINUTE = 60_000;
const TABLES = ["metric_counters", "metric_histograms", "metric_latency_stats"] as const;
const T0 = Date.UTC(2026, 0, 5);

/** Runs `body` on the metrics tables of a fresh session (migrated, empty). */
function withMetrics<T>(body: (metrics: SessionMetrics, sql: Sql) => T): Promise<T> {
  return runInDurableObject(sessionStub(uniqueId("metrics")), (_instance, state) => {
    const sql = new Sql(state.storage.sql);
    return body(new SessionMetrics(sql), sql);
  });
}

interface Expected {
  messages: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** What one period of the reported hours or 5-minute buckets says of the test's events. */
function seen(period: Pick<HourSummary, "counters">): Expected {
  const value = (name: string) => period.counters.find((c) => c.name === name)?.value ?? 0;
  return {
    messages: value("messages_in"),
    count: value(LATENCY_STAT_COUNTERS.count),
    sum: value(LATENCY_STAT_COUNTERS.sum),
    min: value(LATENCY_STAT_COUNTERS.min),
    max: value(LATENCY_STAT_COUNTERS.max),
  };
}

/**
 * 50 hours of traffic, an event every 3 min 17 s, pruned every 10 minutes like the alarms do.
 * Returns the end time and the events' exact totals per hour and per 5-minute bucket.
 */
function traffic(metrics: SessionMetrics) {
  const hours = new Map<number, Expected>();
  const fine = new Map<number, Expected>();
  const add = (into: Map<number, Expected>, key: number, latency: number) => {
    const e = into.get(key) ?? { messages: 0, count: 0, sum: 0, min: Infinity, max: -Infinity };
    into.set(key, {
      messages: e.messages + 1,
      count: e.count + 1,
      sum: e.sum + latency,
      min: Math.min(e.min, latency),
      max: Math.max(e.max, latency),
    });
  };
  let now = T0;
  let prunedAt = T0;
  for (let i = 0; now < T0 + 50 * HOUR_MS; i++, now += 3 * MINUTE + 17_000) {
    const latency = ((i * 37) % 900) + 1;
    metrics.count("messages_in", { peer: "alice" }, 1, now);
    metrics.observe("ack_latency_ms", latency, now);
    add(hours, hourOf(now), latency);
    add(fine, Math.floor(now / FINE_BUCKET_MS) * FINE_BUCKET_MS, latency);
    if (now - prunedAt >= 10 * MINUTE) {
      metrics.prune(now);
      prunedAt = now;
    }
  }
  return { now, hours, fine };
}

describe("session metrics in 5-minute buckets", () => {
  it("compaction into hours keeps every hour's totals and latency statistics exact, and bounds the rows", async () => {
    await withMetrics((metrics, sql) => {
      const { now, hours, fine } = traffic(metrics);
      metrics.prune(now);
      const reported = metrics.hours(now);
      const inWindow = [...hours].filter(([hour]) => hour >= windowStart(now));
      expect(reported.map((h) => [h.hour, seen(h)])).toEqual(inWindow);
      const view = metricsView(reported, now, null);
      expect(view.totals['messages_in{peer="alice"}']).toBe(inWindow.reduce((sum, [, e]) => sum + e.messages, 0));
      expect(view.latencyMs.ack.count).toBe(view.totals['messages_in{peer="alice"}']);

      const buckets = metrics.fiveMinutes(now);
      expect(buckets.length).toBeLessThanOrEqual(72);
      expect(buckets.map((b) => [b.start, seen(b)])).toEqual(
        [...fine].filter(([start]) => start >= fineWindowStart(now)),
      );

      // Everything before the hour the fine window starts in is one row per hour; a series
      // holds at most the 72 buckets, the rest of that hour, and 48 hours.
      const cutoff = hourOf(fineWindowStart(now));
      for (const table of TABLES) {
        const rows = (where: string) =>
          sql.scalar(`SELECT COUNT(*) FROM ${table} WHERE name IN ('messages_in', 'ack_latency_ms') AND ${where}`);
        expect(rows(`period_start < ${cutoff} AND period_start % ${HOUR_MS} != 0`)).toBe(0);
      }
      expect(sql.scalar("SELECT COUNT(*) FROM metric_counters WHERE name = 'messages_in'")).toBeLessThanOrEqual(
        72 + 11 + 49,
      );
      expect(sql.scalar("SELECT COUNT(*) FROM metric_latency_stats")).toBeLessThanOrEqual(72 + 11 + 49);
    });
  });

  it("compacting again, or from a fresh instance, changes nothing", async () => {
    await withMetrics((metrics, sql) => {
      const { now } = traffic(metrics);
      metrics.prune(now);
      const hours = metrics.hours(now);
      const buckets = metrics.fiveMinutes(now);
      const rows = sql.scalar("SELECT COUNT(*) FROM metric_histograms");
      metrics.prune(now);
      const fresh = new SessionMetrics(sql);
      fresh.prune(now);
      expect(fresh.hours(now)).toEqual(hours);
      expect(fresh.fiveMinutes(now)).toEqual(buckets);
      expect(sql.scalar("SELECT COUNT(*) FROM metric_histograms")).toBe(rows);
    });
  });

  it("an event is one write per table, into the bucket of its 5 minutes", async () => {
    await withMetrics((metrics, sql) => {
      const at = T0 + 7 * MINUTE + 30_000;
      metrics.count("messages_in", { peer: "alice" }, 1, at);
      metrics.count("messages_in", { peer: "alice" }, 1, at + MINUTE);
      metrics.observe("ack_latency_ms", 150, at);
      // Events are written behind (session/write-behind.ts): one upsert per row when flushed.
      metrics.flush();
      for (const table of TABLES) {
        expect(sql.all(`SELECT period_start FROM ${table}`)).toEqual([{ period_start: T0 + 5 * MINUTE }]);
      }
      expect(metrics.fiveMinutes(at).map((b) => [b.start, seen(b)])).toEqual([
        [T0 + 5 * MINUTE, { messages: 2, count: 1, sum: 150, min: 150, max: 150 }],
      ]);
      expect(metrics.hours(at).map((h) => h.hour)).toEqual([T0]);
    });
  });
});
