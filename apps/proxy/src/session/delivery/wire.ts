import { type DeliverItem, PROTOCOL_LIMITS, type Receipt } from "@clawrelay/protocol";
import type { Row, Sql } from "../../platform/sql.js";
import type { Outcomes } from "../queue/outcomes.js";
import type { HopLog } from "../queue/trace.js";
import { conversationFields, type DeliverRow, laneName, OUTCOME_COLUMNS, type OutcomeRow } from "../storage/items.js";

/** Redelivery backoff: 1 s doubling to 60 s, ±20 % jitter; critical items skip it (PROTOCOL.md §5). */
export function redeliveryDelay(attempts: number, lane: number, random = Math.random): number {
  if (lane === 0) return 0;
  const base = Math.min(
    PROTOCOL_LIMITS.redeliveryBackoffMaxMs,
    PROTOCOL_LIMITS.redeliveryBackoffBaseMs * 2 ** Math.max(0, attempts - 1),
  );
  const jitter = 1 + (random() * 2 - 1) * PROTOCOL_LIMITS.redeliveryJitter;
  return Math.round(base * jitter);
}

/**
 * Whether an item ever went out in a deliver frame. Not `attempts > 0` alone: a nack or a closed
 * socket gives the attempt back, but the item was still sent (and the connector may hold it).
 * `attempts > 0` does imply a `sent` hop, and SQLite stops at the first true term of an OR, so
 * the usual case (an ack for an item in flight) skips the lookup in the trace. The hop may still
 * be in memory (queue/trace.ts): select with `selectEverSent`, which looks there too.
 */
export const EVER_SENT =
  "(items.attempts > 0 OR EXISTS (SELECT 1 FROM hops WHERE hops.item_id = items.id AND hops.hop = 'sent'))";

/**
 * One row of `query` (which holds EVER_SENT and takes the item's id as its one parameter) as if
 * every hop were in SQLite. Only a miss can be wrong, and only when the item's `sent` hop waits
 * in memory: then the hops are written and the row selected again. Flushing before every ack
 * instead would write the hops once a message again (issue 18).
 */
export function selectEverSent<T extends Row>(
  sql: Sql,
  trace: Pick<HopLog, "holdsSent" | "flush">,
  query: string,
  id: string,
): T | null {
  const row = sql.one<T>(query, id);
  if (row !== null || !trace.holdsSent(id)) return row;
  trace.flush();
  return sql.one<T>(query, id);
}

/**
 * The ack of an item that is not in flight but went out before (a nack or a closed socket gave it
 * back to the queue; the connector may still hold it): finished as acked. Null: unknown, never
 * sent, or already finished.
 */
export function finishRequeued(
  host: { sql: Sql; trace: Pick<HopLog, "holdsSent" | "flush">; outcomes: Pick<Outcomes, "finish"> },
  id: string,
  now: number,
): OutcomeRow | null {
  const select = `SELECT ${OUTCOME_COLUMNS.sql} FROM items WHERE id = ? AND state IN ('inflight', 'queued') AND ${EVER_SENT}`;
  const row = selectEverSent<OutcomeRow>(host.sql, host.trace, select, id);
  if (row !== null) host.outcomes.finish(row, "acked", now);
  return row;
}

const encoder = new TextEncoder();

/**
 * The `deliver` frame for the first of `rows` that fit in one (at least one item), and those rows.
 * Items are serialised once and joined, not serialised again inside the frame.
 */
export function deliverFrame(rows: readonly DeliverRow[]): { frame: string; batch: DeliverRow[] } {
  const parts: string[] = [];
  const batch: DeliverRow[] = [];
  let bytes = 32;
  for (const row of rows) {
    const json = JSON.stringify(toItem(row, row.attempts + 1));
    const size = encoder.encode(json).byteLength + 1;
    if (batch.length > 0 && bytes + size > PROTOCOL_LIMITS.maxBytesPerDeliverFrame) break;
    parts.push(json);
    batch.push(row);
    bytes += size;
  }
  return { frame: `{"type":"deliver","items":[${parts.join(",")}]}`, batch };
}

export function toItem(row: DeliverRow, attempt: number): DeliverItem {
  if (row.kind === "receipt")
    return { kind: "receipt", id: row.id, receipt: JSON.parse(row.payload ?? "null") as Receipt };
  return {
    kind: "message",
    id: row.id,
    seq: row.seq,
    correlationId: row.correlation_id,
    from: row.sender,
    priority: laneName(row.lane),
    payload: JSON.parse(row.payload ?? "null"),
    contentType: row.content_type ?? "application/json",
    enqueuedAt: row.enqueued_at,
    expiresAt: row.expires_at,
    attempt,
    ...conversationFields(row),
  };
}
