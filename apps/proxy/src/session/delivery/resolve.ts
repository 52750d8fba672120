import { log } from "../../log.js";
import type { Sql } from "../../platform/sql.js";
import type { SessionMetrics } from "../metrics.js";
import type { ItemRow } from "../storage/items.js";

export interface ResolveHost {
  readonly sql: Sql;
  readonly metrics: Pick<SessionMetrics, "dirty">;
  agentId(): string;
}

/**
 * A message that already failed was processed after all: the connector replayed its dead letter
 * and the hook took it. The message keeps its one terminal receipt (PROTOCOL.md §7), its record
 * and its place in the counters; it only leaves the recent failures, at the next summary.
 */
export function resolveFailure(
  s: ResolveHost,
  row: Pick<ItemRow, "seq" | "id" | "correlation_id" | "terminal">,
  now: number,
): void {
  const resolved = s.sql.run(
    `UPDATE items SET resolved_at = ?
     WHERE seq = ? AND terminal IN ('failed', 'expired', 'shed', 'dead_lettered') AND resolved_at IS NULL`,
    now,
    row.seq,
  );
  if (resolved === 0) return;
  s.metrics.dirty = true;
  log("info", {
    event: "failure_resolved",
    correlationId: row.correlation_id,
    messageId: row.id,
    agentId: s.agentId(),
    terminal: row.terminal,
  });
}
