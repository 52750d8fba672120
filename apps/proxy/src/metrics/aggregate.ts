import { FAILURE_RECEIPT_STATUSES } from "@clawrelay/protocol";
import {
  type AttentionEntry,
  type AttentionList,
  conditionsOf,
  DEFAULT_ATTENTION_THRESHOLDS,
  emptyAttention,
  mergeAttention,
} from "./attention.js";
import { type AgentDigest, type AgentRow, addTotals, emptyTotals, type FailureRow, type Totals } from "./digest.js";
import {
  blankFine,
  blankHour,
  type FineTotals,
  fineWindowStart,
  type HourTotals,
  mergePeriods,
  windowStart,
} from "./periods.js";

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
  /** 5-minute totals summed over agents, inside the 6 h window (agents' traffic only, no refusals). */
  fiveMinutes: FineTotals[];
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
    fiveMinutes: [],
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

/** Hours and 5-minute buckets being summed, each inside its own window. */
class PeriodSums {
  private readonly hours = new Map<number, HourTotals>();
  private readonly fine = new Map<number, FineTotals>();
  private readonly since: number;
  private readonly fineSince: number;

  constructor(now: number) {
    this.since = windowStart(now);
    this.fineSince = fineWindowStart(now);
  }

  add(hours: readonly HourTotals[], fiveMinutes: readonly FineTotals[]): void {
    mergePeriods(this.hours, hours, this.since, (h) => h.hour, blankHour);
    mergePeriods(this.fine, fiveMinutes, this.fineSince, (b) => b.start, blankFine);
  }

  into(rollup: ShardRollup): void {
    rollup.hours = [...this.hours.values()].sort((a, b) => a.hour - b.hour);
    rollup.fiveMinutes = [...this.fine.values()].sort((a, b) => a.start - b.start);
  }
}

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
  const periods = new PeriodSums(now);
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
    periods.add(digest.hours, digest.fiveMinutes ?? []);
    addTotals(rollup.cumulative, digest.cumulative);
    if (row.queue.items > 0) queues.push(queueRow(row));
    const open = openBreakersOf(row);
    rollup.openBreakersTotal += open.length;
    if (rollup.openBreakers.length < OPEN_BREAKERS_LISTED) rollup.openBreakers.push(...open);
    failures.push(...digest.recentFailures);
    attention.push(...conditionsOf(row, now, DEFAULT_ATTENTION_THRESHOLDS));
    rollup.agents?.push(row);
  }
  periods.into(rollup);
  rollup.worstQueues = queues.sort(byWorstQueue).slice(0, WORST_QUEUES);
  rollup.openBreakers = rollup.openBreakers.slice(0, OPEN_BREAKERS_LISTED);
  rollup.recentFailures = failures.sort(byNewest).slice(0, RECENT_FAILURES);
  rollup.attention = mergeAttention([{ entries: attention, total: attention.length }]);
  if (rollup.agents && agentLimit !== undefined) rollup.agents = mostInNeed(rollup.agents, agentLimit);
  return rollup;
}

/** Merges shard rollups into one (associative: the result is itself a rollup). */
export function mergeRollups(rollups: readonly ShardRollup[], now: number): ShardRollup {
  const periods = new PeriodSums(now);
  const merged = emptyRollup(rollups.some((r) => r.agents !== null));
  for (const rollup of rollups) {
    merged.counts.reporting += rollup.counts.reporting;
    merged.counts.known += rollup.counts.known;
    merged.counts.connected += rollup.counts.connected;
    // A shard still running the code from before the 5-minute buckets (mid-deploy) has none.
    periods.add(rollup.hours, rollup.fiveMinutes ?? []);
    addTotals(merged.cumulative, rollup.cumulative);
    merged.worstQueues.push(...rollup.worstQueues);
    merged.openBreakers.push(...rollup.openBreakers);
    merged.openBreakersTotal += rollup.openBreakersTotal;
    merged.recentFailures.push(...rollup.recentFailures);
    if (rollup.agents) merged.agents?.push(...rollup.agents);
  }
  periods.into(merged);
  merged.worstQueues = merged.worstQueues.sort(byWorstQueue).slice(0, WORST_QUEUES);
  merged.openBreakers = merged.openBreakers.slice(0, OPEN_BREAKERS_LISTED);
  merged.recentFailures = merged.recentFailures.sort(byNewest).slice(0, RECENT_FAILURES);
  // A shard still running the code from before the attention view (mid-deploy) answers without it.
  merged.attention = mergeAttention(rollups.map((r) => r.attention ?? emptyAttention()));
  merged.agents?.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
  return merged;
}
