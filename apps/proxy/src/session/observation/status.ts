import { PRIORITIES } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { StoredHealth } from "../connections/health.js";
import type { MetricsView } from "../metrics.js";
import type { Capacity } from "../queue/capacity.js";
import { OLDEST_LIVE_SQL } from "../storage/items.js";
import { COUNTER_NAMES, type Meta } from "../storage/meta.js";

export interface LaneStatus {
  items: number;
  bytes: number;
  oldestQueuedAt: number | null;
}
export interface ConnectionStatus {
  connectorId: string;
  role: "active" | "standby" | "pending";
  connectedAt: number;
  lastPingAt: number | null;
  /** The connector's latest health report (PROTOCOL.md §6), null until it sent one. */
  health: StoredHealth | null;
}
export interface SessionStatus {
  agentId: string;
  known: boolean;
  connections: ConnectionStatus[];
  queue: {
    items: number;
    bytes: number;
    inFlight: number;
    oldestQueuedAt: number | null;
    lanes: Record<(typeof PRIORITIES)[number], LaneStatus>;
    receipts: { items: number; bytes: number };
  };
  breaker: { state: "closed" | "open" | "half_open"; consecutiveFailures: number; openedAt: number | null };
  /** Per-destination breakers of receipts to other relays. */
  receiptBreakers: { destination: string; state: "closed" | "open" | "half_open"; consecutiveFailures: number }[];
  counters: Record<string, number>;
  metrics: MetricsView | null;
}

export interface StatusSources {
  sql: Sql;
  meta: Meta;
  /** The queue's usage, kept by its owner (queue/capacity.ts). */
  usage: Pick<Capacity, "lane" | "receipts">;
  agentId: string;
  known: boolean;
  sockets: ConnectionStatus[];
  breaker?: SessionStatus["breaker"];
  receiptBreakers?: SessionStatus["receiptBreakers"];
  counters?: Record<string, number>;
  metrics?: MetricsView;
}

/** The real, current state of a session, from counters and indexed lookups only (no scans). */
export function readStatus(src: StatusSources, _now: number): SessionStatus {
  const receipts = src.usage.receipts();
  const lanes = {} as SessionStatus["queue"]["lanes"];
  let items = receipts.items;
  let bytes = receipts.bytes;
  PRIORITIES.forEach((name, rank) => {
    const row = src.usage.lane(rank);
    const oldest = src.sql.one<{ enqueued_at: number }>(
      "SELECT enqueued_at FROM items WHERE state = 'queued' AND lane = ? ORDER BY seq LIMIT 1",
      rank,
    );
    lanes[name] = { items: row.items, bytes: row.bytes, oldestQueuedAt: oldest?.enqueued_at ?? null };
    items += row.items;
    bytes += row.bytes;
  });
  const oldest = src.sql.one<{ enqueued_at: number }>(OLDEST_LIVE_SQL);
  return {
    agentId: src.agentId,
    known: src.known,
    connections: src.sockets,
    queue: {
      items,
      bytes,
      inFlight: src.sql.scalar("SELECT COUNT(*) FROM items WHERE state = 'inflight'"),
      oldestQueuedAt: oldest?.enqueued_at ?? null,
      lanes,
      receipts,
    },
    breaker: src.breaker ?? { state: "closed", consecutiveFailures: 0, openedAt: null },
    receiptBreakers: src.receiptBreakers ?? [],
    counters: src.counters ?? {},
    metrics: src.metrics ?? null,
  };
}

/** The session's counters, by name (`GET …/status`). */
export function readCounters(meta: Meta): Record<string, number> {
  return Object.fromEntries(COUNTER_NAMES.map((name) => [name, meta.getNumber(`count_${name}`, 0)]));
}
