import type { Sql } from "../../platform/sql.js";

/** Hop names of a message's trace, in the order they normally happen. */
export type HopName =
  | "received"
  | "enqueued"
  | "sent"
  | "acked"
  | "nacked"
  | "ack_timeout"
  | "requeued"
  | "processed"
  | "failed"
  | "dead_lettered"
  | "expired"
  | "shed"
  | "delayed"
  | "receipt_emitted";

export function recordHop(sql: Sql, itemId: string, hop: HopName, at: number, detail?: Record<string, unknown>): void {
  sql.run(
    "INSERT INTO hops (item_id, at, hop, detail) VALUES (?, ?, ?, ?)",
    itemId,
    at,
    hop,
    detail ? JSON.stringify(detail) : null,
  );
}
