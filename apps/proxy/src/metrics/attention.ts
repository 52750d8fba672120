import { RELAY_ATTENTION_DEFAULTS } from "@clawrelay/protocol";
import type { AgentRow } from "./digest.js";

/**
 * The "needs attention" view of `GET /v1/status`: one entry per agent and problem, computed from
 * each agent's latest summary in its metrics shard (so it is only as old as that summary), and
 * gone from the list as soon as a summary without the problem arrives — nothing is remembered
 * that could outlive its cause. Most urgent reason first (this order), then oldest `since`.
 */
export const ATTENTION_REASONS = [
  /** No active connector while the relay holds items for the agent: nothing is moving. */
  "offline_with_queue",
  /** A connector reports its hook breaker open or half-open (a held hook reports open). */
  "hook_failing",
  /** The oldest item waiting at the relay, or in a connector's inbox or outbox, is older than the threshold. */
  "backlog_old",
  /** A connector holds dead letters (it reports how many, PROTOCOL.md §6). */
  "dead_letters",
  /** A connector's identity token expires within the window (or has expired). */
  "token_expiring",
] as const;
export type AttentionReason = (typeof ATTENTION_REASONS)[number];

export type AttentionDetail =
  | { reason: "offline_with_queue"; items: number; oldestQueuedAt: number | null }
  | {
      reason: "hook_failing";
      connectorId: string;
      breaker: "open" | "half_open";
      lastError: string | null;
      lastSuccessAt: number | null;
    }
  | {
      reason: "backlog_old";
      where: "relay" | "inbox" | "outbox";
      oldestAt: number;
      items: number;
      connectorId: string | null;
    }
  | { reason: "dead_letters"; connectorId: string; deadLetters: number }
  | { reason: "token_expiring"; connectorId: string; tokenExpiresAt: number; expired: boolean };

/** `detail` repeats `reason`, so a renderer can switch on the detail alone. */
export interface AttentionEntry {
  agentId: string;
  reason: AttentionReason;
  /** Unix ms: since when the condition holds, as far as the facts at hand tell (see `conditionsOf`). */
  since: number;
  detail: AttentionDetail;
}

export interface AttentionThresholds {
  backlogAgeMs: number;
  tokenExpiringMs: number;
}

const rank = (reason: AttentionReason): number => ATTENTION_REASONS.indexOf(reason);

/** Most urgent reason first, then the oldest, then agent id: a total order, so shard lists merge exactly. */
export const byUrgency = (a: AttentionEntry, b: AttentionEntry): number =>
  rank(a.reason) - rank(b.reason) || a.since - b.since || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0);

type Connection = AgentRow["connections"][number];
type Health = NonNullable<Connection["health"]>;
type Reported = { connection: Connection; health: Health };

/** The earliest-`since` entry of each reason (several connectors may report the same problem). */
function keepEarliest(entries: AttentionEntry[]): AttentionEntry[] {
  const byReason = new Map<AttentionReason, AttentionEntry>();
  for (const entry of entries) {
    const kept = byReason.get(entry.reason);
    if (!kept || entry.since < kept.since) byReason.set(entry.reason, entry);
  }
  return [...byReason.values()];
}

function hookFailing(agentId: string, { connection, health }: Reported): AttentionEntry | null {
  const { hook } = health;
  if (hook.breaker === "closed") return null;
  // The frame says no call succeeded since `lastSuccessAt`; the oldest item still waiting behind the
  // hook is when the trouble most likely began (but never before that success). A connector that
  // never succeeded and waits for nothing: since the relay could first see it, this socket's open.
  const lastSuccessAt = hook.lastSuccessAt ?? null;
  const since = Math.max(lastSuccessAt ?? 0, health.inbox.oldestAt ?? lastSuccessAt ?? connection.connectedAt);
  return {
    agentId,
    reason: "hook_failing",
    since,
    detail: {
      reason: "hook_failing",
      connectorId: connection.connectorId,
      breaker: hook.breaker,
      lastError: hook.lastError ?? null,
      lastSuccessAt,
    },
  };
}

function backlogs(row: AgentRow, reported: Reported[], oldEnough: (at: number | null) => at is number) {
  const entries: AttentionEntry[] = [];
  const backlog = (where: "relay" | "inbox" | "outbox", oldestAt: number, items: number, connectorId: string | null) =>
    entries.push({
      agentId: row.agentId,
      reason: "backlog_old",
      since: oldestAt,
      detail: { reason: "backlog_old", where, oldestAt, items, connectorId },
    });
  if (oldEnough(row.queue.oldestQueuedAt)) backlog("relay", row.queue.oldestQueuedAt, row.queue.items, null);
  for (const { connection, health } of reported) {
    const { inbox, outbox } = health;
    if (inbox.pending > 0 && oldEnough(inbox.oldestAt))
      backlog("inbox", inbox.oldestAt, inbox.pending, connection.connectorId);
    if (outbox.pending > 0 && oldEnough(outbox.oldestAt))
      backlog("outbox", outbox.oldestAt, outbox.pending, connection.connectorId);
  }
  return entries;
}

/**
 * Every problem the agent's latest summary shows at `now`. `since` comes from the facts carried:
 * the oldest waiting item for a backlog or an offline queue, the token's expiry minus the window,
 * the hook's own times (see `hookFailing`), and for dead letters — the frame carries no time for
 * them — the open of the socket that reports them.
 */
export function conditionsOf(row: AgentRow, now: number, thresholds: AttentionThresholds): AttentionEntry[] {
  const { agentId } = row;
  const reported = row.connections.flatMap((connection) =>
    connection.health ? [{ connection, health: connection.health }] : [],
  );
  const entries: AttentionEntry[] = [];
  if (row.queue.items > 0 && !row.connections.some((c) => c.role === "active")) {
    entries.push({
      agentId,
      reason: "offline_with_queue",
      since: row.queue.oldestQueuedAt ?? row.at,
      detail: { reason: "offline_with_queue", items: row.queue.items, oldestQueuedAt: row.queue.oldestQueuedAt },
    });
  }
  for (const one of reported) {
    const failing = hookFailing(agentId, one);
    if (failing) entries.push(failing);
  }
  const oldEnough = (at: number | null): at is number => at !== null && now - at > thresholds.backlogAgeMs;
  entries.push(...backlogs(row, reported, oldEnough));
  for (const { connection, health } of reported) {
    if (health.inbox.deadLetters > 0) {
      entries.push({
        agentId,
        reason: "dead_letters",
        since: connection.connectedAt,
        detail: { reason: "dead_letters", connectorId: connection.connectorId, deadLetters: health.inbox.deadLetters },
      });
    }
    const expiresAt = health.tokenExpiresAt;
    if (expiresAt !== null && expiresAt - now <= thresholds.tokenExpiringMs) {
      entries.push({
        agentId,
        reason: "token_expiring",
        since: expiresAt - thresholds.tokenExpiringMs,
        detail: {
          reason: "token_expiring",
          connectorId: connection.connectorId,
          tokenExpiresAt: expiresAt,
          expired: expiresAt <= now,
        },
      });
    }
  }
  return keepEarliest(entries);
}

/** A bounded, ordered list and how many entries there were in all. */
export interface AttentionList {
  entries: AttentionEntry[];
  total: number;
}

export const emptyAttention = (): AttentionList => ({ entries: [], total: 0 });

/** The `limit` most urgent entries of several lists, and their total; associative, like the rollups. */
export function mergeAttention(lists: readonly AttentionList[], limit: number = RELAY_ATTENTION_DEFAULTS.listed) {
  const merged = emptyAttention();
  for (const list of lists) {
    merged.total += list.total;
    merged.entries.push(...list.entries);
  }
  merged.entries = merged.entries.sort(byUrgency).slice(0, limit);
  return merged;
}

export const DEFAULT_ATTENTION_THRESHOLDS: AttentionThresholds = {
  backlogAgeMs: RELAY_ATTENTION_DEFAULTS.backlogAgeMs,
  tokenExpiringMs: RELAY_ATTENTION_DEFAULTS.tokenExpiringMs,
};
