import { HISTOGRAM_SIZE, percentile, type SessionSummary } from "@clawrelay/protocol";

/** The two latency histograms the operator views show (SessionSummary contract). */
export const LATENCY_HISTOGRAMS = ["ack_latency_ms", "processed_latency_ms"] as const;

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
}

export interface HourTotals extends Totals {
  /** Start of the hour, unix ms. */
  hour: number;
}

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
  return into;
}

export function percentilesOf(counts: readonly number[] | undefined): Percentiles {
  const histogram = counts ?? [];
  return {
    p50: percentile(histogram, 0.5),
    p95: percentile(histogram, 0.95),
    p99: percentile(histogram, 0.99),
    count: histogram.reduce((a, b) => a + b, 0),
  };
}

function hourTotals(hour: SessionSummary["hours"][number]): HourTotals {
  const totals: HourTotals = { hour: hour.hour, counters: {}, histograms: {} };
  for (const sample of hour.counters) {
    if (!Number.isFinite(sample.value)) continue;
    const key = counterKey(sample.name, sample.labels);
    totals.counters[key] = (totals.counters[key] ?? 0) + sample.value;
  }
  for (const [name, counts] of Object.entries(hour.histograms)) totals.histograms[name] = normalizeHistogram(counts);
  return totals;
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
  const hours = summary.hours.map(hourTotals).sort((a, b) => a.hour - b.hour);
  const window = emptyTotals();
  for (const hour of hours) addTotals(window, { counters: {}, histograms: hour.histograms });
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
        ackMs: percentilesOf(window.histograms.ack_latency_ms),
        processedMs: percentilesOf(window.histograms.processed_latency_ms),
      },
    },
    hours,
    cumulative,
    recentFailures: summary.recentFailures.map((failure) => ({ ...failure, agentId: summary.agentId })),
  };
}
