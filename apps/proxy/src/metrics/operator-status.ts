import { METRICS_RETENTION_MS } from "@clawrelay/protocol";
import type { RevocationListHealth } from "../auth/revocations.js";
import { type BreakerRow, FAILURE_OUTCOMES, type QueueRow, REFUSAL_COUNTER, type ShardRollup } from "./aggregate.js";
import type { AttentionEntry } from "./attention.js";
import {
  addTotals,
  counterSum,
  emptyTotals,
  type FailureRow,
  type Percentiles,
  parseCounterKey,
  percentilesOf,
} from "./digest.js";
import { HOUR_MS } from "./periods.js";
import {
  type FinePoint,
  type FlowTotals,
  fiveMinuteSeries,
  flowOf,
  type HourPoint,
  hourlySeries,
  lastHourRate,
} from "./series.js";

export interface StatusContext {
  version: string;
  uptimeSeconds: number;
  now: number;
  shards: { total: number; failed: { shard: number; reason: string }[] };
  revocations: RevocationListHealth;
}

export interface StatusAggregate {
  version: string;
  generatedAt: number;
  uptimeSeconds: number;
  shards: { total: number; answered: number; failed: { shard: number; reason: string }[] };
  /** The revocation list of the isolate that answered: `stale` and `expired` are problems (apps/proxy/README.md). */
  revocations: RevocationListHealth;
  agents: { reporting: number; known: number; connected: number };
  totals: FlowTotals & { windowHours: number; byOutcome: Record<string, number> };
  /** Requests refused in the window (every 401, and anything the signature checks refused), by code. */
  refused: { total: number; byCode: Record<string, number> };
  rates: {
    lastHourInPerSecond: number;
    lastHourDeliveredPerSecond: number;
    hourly: HourPoint[];
    /** The last 6 h in 5-minute buckets (72 points), for charts of 1 h and 6 h. */
    fiveMinute: FinePoint[];
  };
  latency: { ackMs: Percentiles; processedMs: Percentiles };
  openBreakers: BreakerRow[];
  openBreakersTotal: number;
  worstQueues: QueueRow[];
  recentFailures: FailureRow[];
  /** Agents that need attention, most urgent first, at most RELAY_ATTENTION_DEFAULTS.listed. */
  attention: AttentionEntry[];
  /** Every attention entry, listed or not. */
  attentionTotal: number;
}

function refusedOf(counters: Record<string, number>): StatusAggregate["refused"] {
  const byCode: Record<string, number> = {};
  let total = 0;
  for (const [key, value] of Object.entries(counters)) {
    const { name, labels } = parseCounterKey(key);
    if (name !== REFUSAL_COUNTER || labels.code === undefined) continue;
    byCode[labels.code] = (byCode[labels.code] ?? 0) + value;
    total += value;
  }
  return { total, byCode };
}

/** The `/v1/status` answer from the merged rollup of every shard that answered. */
export function buildStatus(merged: ShardRollup, ctx: StatusContext): StatusAggregate {
  const window = emptyTotals();
  for (const hour of merged.hours) addTotals(window, hour);
  const hourly = hourlySeries(merged.hours, ctx.now);
  const fiveMinute = fiveMinuteSeries(merged.fiveMinutes, ctx.now);
  const byOutcome: Record<string, number> = {};
  for (const outcome of ["acked", "processed", ...FAILURE_OUTCOMES]) {
    byOutcome[outcome] = counterSum(window.counters, "messages_out", { outcome });
  }
  return {
    version: ctx.version,
    generatedAt: ctx.now,
    uptimeSeconds: ctx.uptimeSeconds,
    shards: {
      total: ctx.shards.total,
      answered: ctx.shards.total - ctx.shards.failed.length,
      failed: ctx.shards.failed,
    },
    revocations: ctx.revocations,
    agents: { ...merged.counts },
    totals: { windowHours: METRICS_RETENTION_MS / HOUR_MS, ...flowOf(window.counters), byOutcome },
    refused: refusedOf(window.counters),
    rates: {
      lastHourInPerSecond: lastHourRate(fiveMinute, ctx.now, (p) => p.messagesIn),
      lastHourDeliveredPerSecond: lastHourRate(fiveMinute, ctx.now, (p) => p.delivered),
      hourly,
      fiveMinute,
    },
    latency: {
      ackMs: percentilesOf(window, "ack_latency_ms"),
      processedMs: percentilesOf(window, "processed_latency_ms"),
    },
    openBreakers: merged.openBreakers,
    openBreakersTotal: merged.openBreakersTotal,
    worstQueues: merged.worstQueues,
    recentFailures: merged.recentFailures,
    attention: merged.attention.entries,
    attentionTotal: merged.attention.total,
  };
}
