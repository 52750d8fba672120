import { FAILURE_RECEIPT_STATUSES, HISTOGRAM_SIZE, percentile, type SessionSummary } from "@clawrelay/protocol";
import {
  clampToRange,
  isLatencyStatCounter,
  LATENCY_STAT_COUNTERS,
  type LatencyRange,
  mergeRange,
  rangesOfCounters,
} from "./latency-stats.js";
import type { FineTotals, HourTotals } from "./periods.js";

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  count: number;
}

/** Counters keyed by `counterKey(name, labels)`, histograms by name (HISTOGRAM_SIZE counts). */
export interface Totals {
  counters: Record<string, number>;
  histograms: Record<string, number[]>;
  /**
   * Observed range per histogram (hours and windows only: a percentile is clamped into it).
   * Absent from digests stored before sessions kept latency statistics.
   */
  ranges?: Record<string, LatencyRange>;
}

/** How a message to the agent failed: the relay's failure receipt statuses (PROTOCOL.md §7). */
export type FailureKind = (typeof FAILURE_RECEIPT_STATUSES)[number];

/** One agent as the operator sees it: its current state and its 48 h latency percentiles. */
export interface AgentRow {
  agentId: string;
  at: number;
  known: boolean;
  connections: SessionSummary["connections"];
  queue: SessionSummary["queue"];
  breaker: SessionSummary["breaker"];
  receiptBreakers: SessionSummary["receiptBreakers"];
  latency: { ackMs: Percentiles; processedMs: Percentiles };
  /**
   * Monotonic failure totals since the agent first reported, only the kinds that happened (so a
   * healthy agent adds no failure series). Absent from digests stored before they were kept.
   */
  failures?: Partial<Record<FailureKind, number>>;
  /** Failures inside the 48 h window: what ranks an agent for a capped per-agent exposition. */
  failuresInWindow?: number;
}

export type FailureRow = SessionSummary["recentFailures"][number] & { agentId: string };

/**
 * What a shard keeps per agent: a compact form of the latest summary. Hourly counters lose the
 * per-peer label (bounded size whatever the number of peers), and `cumulative` holds monotonic
 * totals since the agent first reported — what Prometheus counters need, since a sliding 48 h
 * window shrinks whenever an hour ages out.
 */
export interface AgentDigest {
  row: AgentRow;
  hours: HourTotals[];
  /** The last 6 h in 5-minute buckets; absent from digests stored before sessions kept them. */
  fiveMinutes?: FineTotals[];
  cumulative: Totals;
  recentFailures: FailureRow[];
}

/** Labels that would multiply series by the number of peers; dropped from the aggregate. */
const DROPPED_LABELS = new Set(["peer"]);

/** A stable key for a counter and its labels (sorted), reversible with `parseCounterKey`. */
export function counterKey(name: string, labels: Record<string, string>): string {
  const kept = Object.entries(labels)
    .filter(([label]) => !DROPPED_LABELS.has(label))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([name, Object.fromEntries(kept)]);
}

export function parseCounterKey(key: string): { name: string; labels: Record<string, string> } {
  const [name, labels] = JSON.parse(key) as [string, Record<string, string>];
  return { name, labels };
}

/** Sum of a counter over all its label sets, optionally only those matching `where`. */
export function counterSum(counters: Record<string, number>, name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of Object.entries(counters)) {
    const parsed = parseCounterKey(key);
    if (parsed.name !== name) continue;
    if (Object.entries(where).every(([label, wanted]) => parsed.labels[label] === wanted)) sum += value;
  }
  return sum;
}

/** A histogram of exactly HISTOGRAM_SIZE finite, non-negative counts, whatever was reported. */
export function normalizeHistogram(counts: readonly number[]): number[] {
  const out = new Array<number>(HISTOGRAM_SIZE).fill(0);
  for (let i = 0; i < HISTOGRAM_SIZE; i++) {
    const value = counts[i] ?? 0;
    out[i] = Number.isFinite(value) && value > 0 ? value : 0;
  }
  return out;
}

export function emptyTotals(): Totals {
  return { counters: {}, histograms: {} };
}

/** Adds `add` into `into` (mutating it) and returns it. */
export function addTotals(into: Totals, add: Totals): Totals {
  for (const [key, value] of Object.entries(add.counters)) into.counters[key] = (into.counters[key] ?? 0) + value;
  for (const [name, counts] of Object.entries(add.histograms)) {
    const target = into.histograms[name] ?? new Array<number>(HISTOGRAM_SIZE).fill(0);
    for (let i = 0; i < HISTOGRAM_SIZE; i++) target[i] = (target[i] ?? 0) + (counts[i] ?? 0);
    into.histograms[name] = target;
  }
  for (const [name, range] of Object.entries(add.ranges ?? {})) {
    into.ranges ??= {};
    into.ranges[name] = mergeRange(into.ranges[name], range);
  }
  return into;
}

/** Percentiles of a histogram, never outside the observed range when `range` covers it all. */
export function percentilesOf(totals: Totals | undefined, name: string): Percentiles {
  const histogram = totals?.histograms[name] ?? [];
  const range = totals?.ranges?.[name];
  const count = histogram.reduce((a, b) => a + b, 0);
  const at = (p: number) => clampToRange(percentile(histogram, p), range, count);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), count };
}

/** One period's counters (peer label dropped, latency statistics as a range) and histograms. */
function totalsOf(period: Pick<SessionSummary["hours"][number], "counters" | "histograms">): Totals {
  const totals: Totals = { counters: {}, histograms: {} };
  for (const sample of period.counters) {
    if (!Number.isFinite(sample.value)) continue;
    // Of the latency statistics only the sum adds up like a counter; count, min and max are the range.
    if (isLatencyStatCounter(sample.name) && sample.name !== LATENCY_STAT_COUNTERS.sum) continue;
    const key = counterKey(sample.name, sample.labels);
    totals.counters[key] = (totals.counters[key] ?? 0) + sample.value;
  }
  for (const [name, counts] of Object.entries(period.histograms)) totals.histograms[name] = normalizeHistogram(counts);
  const ranges = rangesOfCounters(period.counters);
  if (ranges.size > 0) totals.ranges = Object.fromEntries(ranges);
  return totals;
}

/** The failure kinds that happened, with their totals. */
function failuresOf(counters: Record<string, number>): Partial<Record<FailureKind, number>> {
  const failures: Partial<Record<FailureKind, number>> = {};
  for (const kind of FAILURE_RECEIPT_STATUSES) {
    const total = counterSum(counters, "messages_out", { outcome: kind });
    if (total > 0) failures[kind] = total;
  }
  return failures;
}

/**
 * What grew since the previous report: per hour and key, the new value minus the one reported
 * before for the same hour (hours new since then count whole). A value that went down (a
 * session that lost its storage) adds nothing rather than making the total go backwards.
 */
function growthSince(previous: HourTotals[], current: HourTotals[]): Totals {
  const before = new Map(previous.map((h) => [h.hour, h]));
  const growth = emptyTotals();
  for (const hour of current) {
    const old = before.get(hour.hour);
    for (const [key, value] of Object.entries(hour.counters)) {
      const delta = value - (old?.counters[key] ?? 0);
      if (delta > 0) growth.counters[key] = (growth.counters[key] ?? 0) + delta;
    }
    for (const [name, counts] of Object.entries(hour.histograms)) {
      const oldCounts = old?.histograms[name];
      const target = growth.histograms[name] ?? new Array<number>(HISTOGRAM_SIZE).fill(0);
      for (let i = 0; i < HISTOGRAM_SIZE; i++) {
        const delta = (counts[i] ?? 0) - (oldCounts?.[i] ?? 0);
        if (delta > 0) target[i] = (target[i] ?? 0) + delta;
      }
      growth.histograms[name] = target;
    }
  }
  return growth;
}

/** The compact digest of a (validated) summary, carrying monotonic totals on from `previous`. */
export function digestSummary(summary: SessionSummary, previous: AgentDigest | null): AgentDigest {
  const hours = summary.hours
    .map((h): HourTotals => ({ hour: h.hour, ...totalsOf(h) }))
    .sort((a, b) => a.hour - b.hour);
  const fiveMinutes = (summary.fiveMinutes ?? [])
    .map((b): FineTotals => ({ start: b.start, ...totalsOf(b) }))
    .sort((a, b) => a.start - b.start);
  const window = emptyTotals();
  for (const hour of hours) addTotals(window, hour);
  const cumulative = addTotals(
    addTotals(emptyTotals(), previous?.cumulative ?? emptyTotals()),
    growthSince(previous?.hours ?? [], hours),
  );
  return {
    row: {
      agentId: summary.agentId,
      at: summary.at,
      known: summary.known,
      connections: summary.connections,
      queue: summary.queue,
      breaker: summary.breaker,
      receiptBreakers: summary.receiptBreakers,
      latency: {
        ackMs: percentilesOf(window, "ack_latency_ms"),
        processedMs: percentilesOf(window, "processed_latency_ms"),
      },
      failures: failuresOf(cumulative.counters),
      failuresInWindow: Object.values(failuresOf(window.counters)).reduce((a, b) => a + b, 0),
    },
    hours,
    fiveMinutes,
    cumulative,
    recentFailures: summary.recentFailures.map((failure) => ({ ...failure, agentId: summary.agentId })),
  };
}
