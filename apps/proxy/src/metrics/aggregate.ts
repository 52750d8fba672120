import { FAILURE_RECEIPT_STATUSES, METRICS_RETENTION_MS } from "@clawrelay/protocol";
import type { RevocationListHealth } from "../auth/revocations.js";
import {
  type AttentionEntry,
  type AttentionList,
  conditionsOf,
  DEFAULT_ATTENTION_THRESHOLDS,
  emptyAttention,
  mergeAttention,
} from "./attention.js";
import {
  type AgentDigest,
  type AgentRow,
  addTotals,
  counterSum,
  emptyTotals,
  type FailureRow,
  type HourTotals,
  type Percentiles,
  parseCounterKey,
  percentilesOf,
  type Totals,
} from "./digest.js";

export const HOUR_MS = 3_600_000;
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

export const WORST_QUEUES = 10;
export const RECENT_FAILURES = 50;
export const OPEN_BREAKERS_LISTED = 200;
/** The counter refused requests are kept under, labelled by code only (metrics/refusal-store.ts). */
export const REFUSAL_COUNTER = "auth_failures";
/** Outcomes of `messages_out` that mean the message did not make it. */
export const FAILURE_OUTCOMES = FAILURE_RECEIPT_STATUSES;

export interface QueueRow {
  agentId: string;
  items: number;
  bytes: number;
  inFlight: number;
  oldestQueuedAt: number | null;
  lanes: { critical: number; normal: number; low: number };
}

export type BreakerRow =
  | { agentId: string; kind: "delivery"; state: string; consecutiveFailures: number; openedAt: number | null }
  | { agentId: string; kind: "receipt"; destination: string; state: string; consecutiveFailures: number }
  /** A connector's own hook breaker, from its latest `health` frame (PROTOCOL.md §6). */
  | { agentId: string; kind: "hook"; connectorId: string; state: string; lastError: string | null };

/**
 * A mergeable partial aggregate: one per shard, and merging any number of them gives the same
 * shape (so the Worker's merge and a shard's own rollup are the same code).
 */
export interface ShardRollup {
  counts: { reporting: number; known: number; connected: number };
  /** Hourly totals summed over agents, inside the 48 h window. */
  hours: HourTotals[];
  /** Monotonic totals (live agents plus those pruned from the shard). */
  cumulative: Totals;
  worstQueues: QueueRow[];
  openBreakers: BreakerRow[];
  openBreakersTotal: number;
  recentFailures: FailureRow[];
  /** Agents that need attention (metrics/attention.ts): the most urgent, and how many in all. */
  attention: AttentionList;
  /** Every agent's row; only when asked for (the dashboard and Prometheus need them, /v1/status does not). */
  agents: AgentRow[] | null;
}

export function emptyRollup(includeAgents: boolean): ShardRollup {
  return {
    counts: { reporting: 0, known: 0, connected: 0 },
    hours: [],
    cumulative: emptyTotals(),
    worstQueues: [],
    openBreakers: [],
    openBreakersTotal: 0,
    recentFailures: [],
    attention: emptyAttention(),
    agents: includeAgents ? [] : null,
  };
}

const byWorstQueue = (a: QueueRow, b: QueueRow): number =>
  b.items - a.items ||
  (a.oldestQueuedAt ?? Number.POSITIVE_INFINITY) - (b.oldestQueuedAt ?? Number.POSITIVE_INFINITY) ||
  (a.agentId < b.agentId ? -1 : 1);
const byNewest = (a: FailureRow, b: FailureRow): number =>
  b.at - a.at || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0);

export function queueRow(row: AgentRow): QueueRow {
  const { queue } = row;
  return {
    agentId: row.agentId,
    items: queue.items,
    bytes: queue.bytes,
    inFlight: queue.inFlight,
    oldestQueuedAt: queue.oldestQueuedAt,
    lanes: { critical: queue.lanes.critical.items, normal: queue.lanes.normal.items, low: queue.lanes.low.items },
  };
}

export function openBreakersOf(row: AgentRow): BreakerRow[] {
  const open: BreakerRow[] = [];
  if (row.breaker.state !== "closed") open.push({ agentId: row.agentId, kind: "delivery", ...row.breaker });
  for (const breaker of row.receiptBreakers) {
    if (breaker.state !== "closed") open.push({ agentId: row.agentId, kind: "receipt", ...breaker });
  }
  for (const connection of row.connections) {
    const hook = connection.health?.hook;
    if (!hook || hook.breaker === "closed") continue;
    open.push({
      agentId: row.agentId,
      kind: "hook",
      connectorId: connection.connectorId,
      state: hook.breaker,
      lastError: hook.lastError ?? null,
    });
  }
  return open;
}

export const isConnected = (row: AgentRow): boolean => row.connections.some((c) => c.role === "active");

/** Which agents get per-agent Prometheus series: all, none, or the N that most need attention. */
export type AgentSeries = "all" | "none" | number;

/**
 * Most queued first, then most failures in the 48 h window, then most open breakers, then agent
 * id. A total order over agents: each shard's top N, merged, hold the top N of the whole relay.
 */
export const byAttention = (a: AgentRow, b: AgentRow): number =>
  b.queue.items - a.queue.items ||
  (b.failuresInWindow ?? 0) - (a.failuresInWindow ?? 0) ||
  openBreakersOf(b).length - openBreakersOf(a).length ||
  (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0);

/** The `limit` agents that most need attention, in that order. */
export const mostInNeed = (rows: readonly AgentRow[], limit: number): AgentRow[] =>
  [...rows].sort(byAttention).slice(0, limit);

function mergeHours(into: Map<number, HourTotals>, hours: readonly HourTotals[], since: number): void {
  for (const hour of hours) {
    if (hour.hour < since) continue;
    const target = into.get(hour.hour) ?? { hour: hour.hour, counters: {}, histograms: {} };
    addTotals(target, hour);
    into.set(hour.hour, target);
  }
}

/** First hour start inside the 48 h window ending at `now`. */
export const windowStart = (now: number): number => hourOf(now) - METRICS_RETENTION_MS + HOUR_MS;

/**
 * One shard's partial aggregate from the digests of its agents and the totals of agents it pruned;
 * with `agentLimit`, only that many agent rows (the ones `mostInNeed` picks), so a capped scrape
 * moves at most 16 × N rows whatever the number of agents.
 */
export function rollupShard(
  digests: readonly AgentDigest[],
  retired: Totals,
  now: number,
  includeAgents: boolean,
  agentLimit?: number,
): ShardRollup {
  const since = windowStart(now);
  const hours = new Map<number, HourTotals>();
  const rollup = emptyRollup(includeAgents);
  addTotals(rollup.cumulative, retired);
  const queues: QueueRow[] = [];
  const failures: FailureRow[] = [];
  const attention: AttentionEntry[] = [];
  for (const digest of digests) {
    const { row } = digest;
    rollup.counts.reporting += 1;
    if (row.known) rollup.counts.known += 1;
    if (isConnected(row)) rollup.counts.connected += 1;
    mergeHours(hours, digest.hours, since);
    addTotals(rollup.cumulative, digest.cumulative);
    if (row.queue.items > 0) queues.push(queueRow(row));
    const open = openBreakersOf(row);
    rollup.openBreakersTotal += open.length;
    if (rollup.openBreakers.length < OPEN_BREAKERS_LISTED) rollup.openBreakers.push(...open);
    failures.push(...digest.recentFailures);
    attention.push(...conditionsOf(row, now, DEFAULT_ATTENTION_THRESHOLDS));
    rollup.agents?.push(row);
  }
  rollup.hours = [...hours.values()].sort((a, b) => a.hour - b.hour);
  rollup.worstQueues = queues.sort(byWorstQueue).slice(0, WORST_QUEUES);
  rollup.openBreakers = rollup.openBreakers.slice(0, OPEN_BREAKERS_LISTED);
  rollup.recentFailures = failures.sort(byNewest).slice(0, RECENT_FAILURES);
  rollup.attention = mergeAttention([{ entries: attention, total: attention.length }]);
  if (rollup.agents && agentLimit !== undefined) rollup.agents = mostInNeed(rollup.agents, agentLimit);
  return rollup;
}

/** Merges shard rollups into one (associative: the result is itself a rollup). */
export function mergeRollups(rollups: readonly ShardRollup[], now: number): ShardRollup {
  const since = windowStart(now);
  const hours = new Map<number, HourTotals>();
  const merged = emptyRollup(rollups.some((r) => r.agents !== null));
  for (const rollup of rollups) {
    merged.counts.reporting += rollup.counts.reporting;
    merged.counts.known += rollup.counts.known;
    merged.counts.connected += rollup.counts.connected;
    mergeHours(hours, rollup.hours, since);
    addTotals(merged.cumulative, rollup.cumulative);
    merged.worstQueues.push(...rollup.worstQueues);
    merged.openBreakers.push(...rollup.openBreakers);
    merged.openBreakersTotal += rollup.openBreakersTotal;
    merged.recentFailures.push(...rollup.recentFailures);
    if (rollup.agents) merged.agents?.push(...rollup.agents);
  }
  merged.hours = [...hours.values()].sort((a, b) => a.hour - b.hour);
  merged.worstQueues = merged.worstQueues.sort(byWorstQueue).slice(0, WORST_QUEUES);
  merged.openBreakers = merged.openBreakers.slice(0, OPEN_BREAKERS_LISTED);
  merged.recentFailures = merged.recentFailures.sort(byNewest).slice(0, RECENT_FAILURES);
  // A shard still running the code from before the attention view (mid-deploy) answers without it.
  merged.attention = mergeAttention(rollups.map((r) => r.attention ?? emptyAttention()));
  merged.agents?.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
  return merged;
}

export interface HourPoint {
  hour: number;
  messagesIn: number;
  delivered: number;
  processed: number;
  failed: number;
  ackMs: Percentiles;
  processedMs: Percentiles;
}

export interface FlowTotals {
  messagesIn: number;
  /** Handed to the connector (outcome `acked`). */
  delivered: number;
  processed: number;
  /** failed + expired + shed + dead_lettered. */
  failed: number;
}

function flowOf(counters: Record<string, number>): FlowTotals {
  return {
    messagesIn: counterSum(counters, "messages_in"),
    delivered: counterSum(counters, "messages_out", { outcome: "acked" }),
    processed: counterSum(counters, "messages_out", { outcome: "processed" }),
    failed: FAILURE_OUTCOMES.reduce((sum, outcome) => sum + counterSum(counters, "messages_out", { outcome }), 0),
  };
}

/** One point per hour of the window, oldest first, zeros where nothing was reported. */
export function hourlySeries(hours: readonly HourTotals[], now: number): HourPoint[] {
  const byHour = new Map(hours.map((h) => [h.hour, h]));
  const points: HourPoint[] = [];
  for (let hour = windowStart(now); hour <= hourOf(now); hour += HOUR_MS) {
    const totals = byHour.get(hour);
    points.push({
      hour,
      ...flowOf(totals?.counters ?? {}),
      ackMs: percentilesOf(totals, "ack_latency_ms"),
      processedMs: percentilesOf(totals, "processed_latency_ms"),
    });
  }
  return points;
}

/**
 * Messages per second over the 60 minutes before `now`: the current hour so far, plus the share
 * of the previous hour still inside the window (assumed spread evenly — buckets are hourly).
 */
export function lastHourRate(points: readonly HourPoint[], now: number, pick: (p: HourPoint) => number): number {
  const current = points.find((p) => p.hour === hourOf(now));
  const previous = points.find((p) => p.hour === hourOf(now) - HOUR_MS);
  const previousShare = 1 - (now - hourOf(now)) / HOUR_MS;
  return ((current ? pick(current) : 0) + (previous ? pick(previous) : 0) * previousShare) / 3600;
}

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
  rates: { lastHourInPerSecond: number; lastHourDeliveredPerSecond: number; hourly: HourPoint[] };
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
      lastHourInPerSecond: lastHourRate(hourly, ctx.now, (p) => p.messagesIn),
      lastHourDeliveredPerSecond: lastHourRate(hourly, ctx.now, (p) => p.delivered),
      hourly,
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
