import {
  bucketIndex,
  emptyHistogram,
  HISTOGRAM_SIZE,
  LATENCY_BUCKETS_MS,
  percentile,
  type SessionSummary,
} from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { mergeRollups, rollupShard } from "../../src/metrics/aggregate.js";
import { digestSummary, emptyTotals } from "../../src/metrics/digest.js";
import { fiveMinuteSeries, hourlySeries, lastHourRate } from "../../src/metrics/series.js";

function histogramOf(samples: readonly number[]): number[] {
  const counts = emptyHistogram();
  for (const sample of samples) counts[bucketIndex(sample)] = (counts[bucketIndex(sample)] ?? 0) + 1;
  return counts;
}

/** The exact p-quantile of the samples (nearest rank). */
function exactQuantile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

function bucketBounds(ms: number): [number, number] {
  const i = bucketIndex(ms);
  return [i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0), LATENCY_BUCKETS_MS[i] ?? Number.POSITIVE_INFINITY];
}

/** A deterministic pseudo-random stream (no flakes, same samples every run). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("percentiles from histograms", () => {
  const random = lcg(42);
  const sampleSets: Record<string, number[]> = {
    "uniform 1..1000 ms": Array.from({ length: 1000 }, (_, i) => i + 1),
    "log-normal-ish around 40 ms": Array.from({ length: 5000 }, () => Math.exp(Math.log(40) + (random() - 0.5) * 3)),
    "bimodal fast path and timeouts": [
      ...Array.from({ length: 970 }, () => 3 + random() * 10),
      ...Array.from({ length: 30 }, () => 30_000 + random() * 5_000),
    ],
  };

  for (const [name, samples] of Object.entries(sampleSets)) {
    it(`lands in the bucket of the true quantile, within its width: ${name}`, () => {
      const counts = histogramOf(samples);
      for (const p of [0.5, 0.95, 0.99]) {
        const truth = exactQuantile(samples, p);
        const estimate = percentile(counts, p);
        const [lower, upper] = bucketBounds(truth);
        expect(estimate, `p${p * 100}`).not.toBeNull();
        expect(estimate!, `p${p * 100} of ${truth}`).toBeGreaterThanOrEqual(lower);
        expect(estimate!, `p${p * 100} of ${truth}`).toBeLessThanOrEqual(upper);
      }
    });
  }

  it("interpolates inside a bucket and is exact at its edges", () => {
    // 100 samples all in (10, 20]: p50 is halfway through the bucket, p100 its upper bound.
    const counts = histogramOf(Array.from({ length: 100 }, () => 15));
    expect(percentile(counts, 0.5)).toBe(15);
    expect(percentile(counts, 1)).toBe(20);
    expect(percentile(counts, 0.01)).toBeCloseTo(10.1, 5);
  });

  it("is null for an empty histogram and puts the overflow bucket at the last bound", () => {
    expect(percentile(emptyHistogram(), 0.5)).toBeNull();
    const counts = histogramOf([10 * 86_400_000]);
    expect(bucketIndex(10 * 86_400_000)).toBe(HISTOGRAM_SIZE - 1);
    expect(percentile(counts, 0.99)).toBeGreaterThanOrEqual(LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!);
  });

  it("merging histograms then taking the percentile equals the percentile of all samples together", () => {
    const a = Array.from({ length: 300 }, (_, i) => (i % 50) + 1);
    const b = Array.from({ length: 700 }, (_, i) => (i % 400) + 100);
    const merged = histogramOf(a).map((count, i) => count + (histogramOf(b)[i] ?? 0));
    expect(merged).toEqual(histogramOf([...a, ...b]));
    expect(percentile(merged, 0.95)).toBe(percentile(histogramOf([...a, ...b]), 0.95));
  });
});

const HOUR = 3_600_000;
const MINUTE = 60_000;

function summary(
  agentId: string,
  at: number,
  hours: { hour: number; inCount: number; acks?: number[] }[],
): SessionSummary {
  return {
    agentId,
    at,
    known: true,
    connections: [],
    queue: {
      items: 0,
      bytes: 0,
      inFlight: 0,
      oldestQueuedAt: null,
      lanes: {
        critical: { items: 0, bytes: 0, oldestQueuedAt: null },
        normal: { items: 0, bytes: 0, oldestQueuedAt: null },
        low: { items: 0, bytes: 0, oldestQueuedAt: null },
      },
      receipts: { items: 0, bytes: 0 },
    },
    breaker: { state: "closed", consecutiveFailures: 0, openedAt: null },
    receiptBreakers: [],
    hours: hours.map((h) => ({
      hour: h.hour,
      counters: [{ name: "messages_in", labels: { peer: "alice" }, value: h.inCount }],
      histograms: { ack_latency_ms: histogramOf(h.acks ?? []) },
    })),
    // Each hour's events all in its first 5 minutes.
    fiveMinutes: hours.map((h) => ({
      start: h.hour,
      counters: [{ name: "messages_in", labels: { peer: "alice" }, value: h.inCount }],
      histograms: { ack_latency_ms: histogramOf(h.acks ?? []) },
    })),
    recentFailures: [],
  };
}

describe("session digests and shard rollups", () => {
  const key = JSON.stringify(["messages_in", {}]);
  const t0 = 1_000 * HOUR;

  it("keeps monotonic totals while the 48 h window slides and when a session loses its counts", () => {
    let digest = digestSummary(summary("bob", t0, [{ hour: t0, inCount: 5 }]), null);
    expect(digest.cumulative.counters[key]).toBe(5);
    digest = digestSummary(summary("bob", t0 + 10, [{ hour: t0, inCount: 8 }]), digest);
    expect(digest.cumulative.counters[key]).toBe(8);
    // Hour t0 ages out of the session's window: the cumulative total must not go back.
    digest = digestSummary(summary("bob", t0 + 49 * HOUR, [{ hour: t0 + 49 * HOUR, inCount: 2 }]), digest);
    expect(digest.cumulative.counters[key]).toBe(10);
    // A session that lost its storage reports a smaller value for the same hour: nothing added, nothing removed.
    digest = digestSummary(summary("bob", t0 + 49 * HOUR + 1, [{ hour: t0 + 49 * HOUR, inCount: 1 }]), digest);
    expect(digest.cumulative.counters[key]).toBe(10);
  });

  it("drops the per-peer label so an agent's digest stays bounded however many peers write to it", () => {
    const digest = digestSummary(summary("bob", t0, [{ hour: t0, inCount: 3 }]), null);
    expect(Object.keys(digest.hours[0]!.counters)).toEqual([key]);
  });

  it("merging shard rollups in any grouping gives the same aggregate", () => {
    const now = t0 + HOUR / 2;
    const digests = ["a", "b", "c", "d"].map((id, i) =>
      digestSummary(summary(id, now, [{ hour: t0, inCount: i + 1, acks: [i * 10 + 1] }]), null),
    );
    const shard = (ds: typeof digests) => rollupShard(ds, emptyTotals(), now, true);
    const all = mergeRollups([shard(digests)], now);
    const pairs = mergeRollups([shard(digests.slice(0, 2)), shard(digests.slice(2))], now);
    const nested = mergeRollups(
      [mergeRollups([shard(digests.slice(0, 1)), shard(digests.slice(1, 3))], now), shard(digests.slice(3))],
      now,
    );
    for (const candidate of [pairs, nested]) {
      expect(candidate.counts).toEqual(all.counts);
      expect(candidate.cumulative).toEqual(all.cumulative);
      expect(candidate.hours).toEqual(all.hours);
      expect(candidate.fiveMinutes).toEqual(all.fiveMinutes);
      expect(candidate.agents?.map((a) => a.agentId)).toEqual(["a", "b", "c", "d"]);
    }
    expect(all.cumulative.counters[key]).toBe(10);
    expect(all.fiveMinutes.map((b) => [b.start, b.counters[key]])).toEqual([[t0, 10]]);
  });

  it("the 5-minute series is the last 6 h in 72 points, each at its bucket's start, with the hours' totals", () => {
    const now = t0 + 3 * HOUR + 7 * MINUTE + 12_000;
    const digests = ["a", "b"].map((id) =>
      digestSummary(summary(id, now, [{ hour: t0 + 3 * HOUR, inCount: 2, acks: [5, 9] }]), null),
    );
    const rollup = mergeRollups([rollupShard(digests, emptyTotals(), now, false)], now);
    const points = fiveMinuteSeries(rollup.fiveMinutes, now);
    expect(points).toHaveLength(72);
    expect(points.at(-1)?.start).toBe(t0 + 3 * HOUR + 5 * MINUTE);
    expect(new Set(points.slice(1).map((p, i) => p.start - (points[i]?.start ?? 0)))).toEqual(new Set([5 * MINUTE]));
    expect(points.filter((p) => p.start > now - HOUR)).toHaveLength(12);
    const busy = points.filter((p) => p.messagesIn > 0);
    expect(busy.map((p) => [p.start, p.messagesIn, p.ackMs.count])).toEqual([[t0 + 3 * HOUR, 4, 4]]);
    const hourly = hourlySeries(rollup.hours, now);
    expect(hourly.reduce((sum, p) => sum + p.messagesIn, 0)).toBe(4);
  });

  it("the last hour's rate counts the 5-minute buckets inside it, and the share of the one it cuts", () => {
    const now = t0 + 3 * HOUR + 7 * MINUTE + 12_000;
    const bucket = (start: number, count: number) => ({ start, counters: { [key]: count }, histograms: {} });
    const points = fiveMinuteSeries(
      [bucket(t0 + 2 * HOUR, 100), bucket(t0 + 2 * HOUR + 5 * MINUTE, 10), bucket(t0 + 3 * HOUR + 5 * MINUTE, 3)],
      now,
    );
    // The window starts at 2 h 7 min 12 s: 2 min 48 s of the 2 h 5 min bucket is inside it.
    expect(lastHourRate(points, now, (p) => p.messagesIn) * 3600).toBeCloseTo(3 + 10 * (168 / 300), 9);
  });
});
