import type { Sql } from "../../platform/sql.js";
import type { HopLog } from "../queue/trace.js";
import { EVER_SENT } from "./wire.js";

/** The hop log as requeueing uses it: it records hops and knows the `sent` ones still in memory. */
export type RequeueTrace = Pick<HopLog, "recordOne" | "holdsSent">;

/** Items sent to a socket that closed go back to the queue; that send does not count. */
export function requeueConnection(sql: Sql, trace: RequeueTrace, connectionId: string, now: number): number {
  const rows = sql.all<{ id: string }>(
    "SELECT id FROM items WHERE state = 'inflight' AND connector_id = ?",
    connectionId,
  );
  for (const { id } of rows) {
    sql.run(
      "UPDATE items SET state = 'queued', attempts = MAX(0, attempts - 1), ack_deadline = NULL, connector_id = NULL, next_attempt_at = 0 WHERE id = ?",
      id,
    );
    trace.recordOne(id, "requeued", now, { reason: "connection_closed" });
  }
  return rows.length;
}

/** In-flight items of connections not in `live` go back to the queue. */
export function requeueOrphans(sql: Sql, trace: RequeueTrace, live: ReadonlySet<string>, now: number): number {
  const owners = sql.all<{ connector_id: string | null }>(
    "SELECT DISTINCT connector_id FROM items WHERE state = 'inflight'",
  );
  let moved = 0;
  for (const { connector_id } of owners) {
    if (connector_id === null || !live.has(connector_id))
      moved += requeueConnection(sql, trace, connector_id ?? "", now);
  }
  return moved;
}

/** A reconnect's `lastReceivedId` unknown to the relay, or never sent (so "newer than anything it sent"). */
export function needsResync(sql: Sql, trace: RequeueTrace, lastReceivedId: string | null): boolean {
  if (lastReceivedId === null) return false;
  const row = sql.one<{ sent: number }>(`SELECT ${EVER_SENT} AS sent FROM items WHERE id = ?`, lastReceivedId);
  // The row exists either way; a `sent` hop still in memory makes EVER_SENT true once written.
  return row === null || (row.sent === 0 && !trace.holdsSent(lastReceivedId));
}
