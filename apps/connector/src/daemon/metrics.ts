import { bucketIndex, emptyHistogram, percentile } from "@clawrelay/protocol";
import type { BreakerState } from "./breaker.js";

/** Transitions kept for status; older ones only count. */
const RECENT_TRANSITIONS = 20;

export const HOOK_KINDS = ["message", "receipt"] as const;
export const HOOK_OUTCOMES = ["delivered", "rejected", "retry", "held"] as const;
export type HookKind = (typeof HOOK_KINDS)[number];
export type HookOutcome = (typeof HOOK_OUTCOMES)[number];

/** What the Prometheus exposition reads (metrics-prometheus.ts): raw counts, never percentiles. */
export interface ConnectorMetricsSnapshot {
  startedAt: number;
  /** Bucket counts per kind (LATENCY_BUCKETS_MS, overflow last) and the exact sum of the latencies. */
  hookLatency: Record<HookKind, { counts: readonly number[]; sumMs: number }>;
  /** Calls by `${kind}:${outcome}`. */
  hookOutcomes: Readonly<Record<string, number>>;
  /** Times the link came up again after it had been up once. */
  reconnects: number;
}

export interface BreakerTransition {
  breaker: string;
  state: BreakerState;
  at: number;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  count: number;
}

function percentilesOf(counts: readonly number[]): Percentiles {
  return {
    p50: percentile(counts, 0.5),
    p95: percentile(counts, 0.95),
    p99: percentile(counts, 0.99),
    count: counts.reduce((a, b) => a + b, 0),
  };
}

/**
 * The connector's own metrics since it started: hook call latency (the same fixed buckets as the
 * relay's histograms, so the two read alike), hook outcomes, and breaker transitions. In memory
 * on purpose: they describe this process, and the durable facts (what is queued, how old) are
 * read from the store when status is asked.
 */
export class ConnectorMetrics {
  private readonly hookLatency: Record<HookKind, number[]> = { message: emptyHistogram(), receipt: emptyHistogram() };
  private readonly hookLatencySumMs: Record<HookKind, number> = { message: 0, receipt: 0 };
  private linkUps = 0;
  private readonly hookOutcomes: Record<string, number> = {};
  private readonly transitionCounts: Record<string, number> = {};
  private readonly recentTransitions: BreakerTransition[] = [];

  constructor(private readonly startedAt: number) {}

  observeHook(kind: HookKind, outcome: HookOutcome, latencyMs: number): void {
    const histogram = this.hookLatency[kind];
    const latency = Math.max(0, latencyMs);
    const bucket = bucketIndex(latency);
    histogram[bucket] = (histogram[bucket] ?? 0) + 1;
    this.hookLatencySumMs[kind] += latency;
    const key = `${kind}:${outcome}`;
    this.hookOutcomes[key] = (this.hookOutcomes[key] ?? 0) + 1;
  }

  breakerChanged(breaker: string, state: BreakerState, at: number): void {
    const key = `${breaker}:${state}`;
    this.transitionCounts[key] = (this.transitionCounts[key] ?? 0) + 1;
    this.recentTransitions.unshift({ breaker, state, at });
    this.recentTransitions.length = Math.min(this.recentTransitions.length, RECENT_TRANSITIONS);
  }

  /** The link got its `reconnect_ack`: every time after the first is a reconnect. */
  linkConnected(): void {
    this.linkUps += 1;
  }

  snapshot(): ConnectorMetricsSnapshot {
    const latency = (kind: HookKind) => ({ counts: [...this.hookLatency[kind]], sumMs: this.hookLatencySumMs[kind] });
    return {
      startedAt: this.startedAt,
      hookLatency: { message: latency("message"), receipt: latency("receipt") },
      hookOutcomes: { ...this.hookOutcomes },
      reconnects: Math.max(0, this.linkUps - 1),
    };
  }

  view(now: number, oldest: { outboxQueuedAt: number | null; inboxPendingAt: number | null }) {
    const age = (at: number | null) => (at === null ? null : Math.max(0, now - at));
    return {
      since: this.startedAt,
      hookLatencyMs: {
        message: percentilesOf(this.hookLatency.message),
        receipt: percentilesOf(this.hookLatency.receipt),
      },
      hookOutcomes: { ...this.hookOutcomes },
      /** Age of the oldest outbound message not yet accepted by a relay. */
      outboxOldestAgeMs: age(oldest.outboxQueuedAt),
      /** Age of the oldest inbox item not yet handed to the agent. */
      inboxOldestAgeMs: age(oldest.inboxPendingAt),
      breakerTransitions: { counts: { ...this.transitionCounts }, recent: [...this.recentTransitions] },
    };
  }
}

export type ConnectorMetricsView = ReturnType<ConnectorMetrics["view"]>;
