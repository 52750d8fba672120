import { bucketIndex, emptyHistogram, percentile } from "@clawrelay/protocol";
import type { BreakerState } from "./breaker.js";

/** Transitions kept for status; older ones only count. */
const RECENT_TRANSITIONS = 20;

export type HookKind = "message" | "receipt";
export type HookOutcome = "delivered" | "rejected" | "retry" | "held";

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
  private readonly hookOutcomes: Record<string, number> = {};
  private readonly transitionCounts: Record<string, number> = {};
  private readonly recentTransitions: BreakerTransition[] = [];

  constructor(private readonly startedAt: number) {}

  observeHook(kind: HookKind, outcome: HookOutcome, latencyMs: number): void {
    const histogram = this.hookLatency[kind];
    const bucket = bucketIndex(Math.max(0, latencyMs));
    histogram[bucket] = (histogram[bucket] ?? 0) + 1;
    const key = `${kind}:${outcome}`;
    this.hookOutcomes[key] = (this.hookOutcomes[key] ?? 0) + 1;
  }

  breakerChanged(breaker: string, state: BreakerState, at: number): void {
    const key = `${breaker}:${state}`;
    this.transitionCounts[key] = (this.transitionCounts[key] ?? 0) + 1;
    this.recentTransitions.unshift({ breaker, state, at });
    this.recentTransitions.length = Math.min(this.recentTransitions.length, RECENT_TRANSITIONS);
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
