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

/** One hop of one item's trace. */
export interface Hop {
  itemId: string;
  hop: HopName;
  at: number;
  detail?: Record<string, unknown> | undefined;
}

/** Rows per INSERT: four bound values each, under SQLite's (and the runtime's) 100 per statement. */
const HOPS_PER_STATEMENT = 25;

export function recordHop(sql: Sql, itemId: string, hop: HopName, at: number, detail?: Record<string, unknown>): void {
  recordHops(sql, [{ itemId, hop, at, detail }]);
}

/** Several hops in one statement (per 25), in the given order: hops are read back by row id. */
export function recordHops(sql: Sql, hops: readonly Hop[]): void {
  for (let start = 0; start < hops.length; start += HOPS_PER_STATEMENT) {
    const chunk = hops.slice(start, start + HOPS_PER_STATEMENT);
    const values: (string | number | null)[] = [];
    for (const { itemId, hop, at, detail } of chunk)
      values.push(itemId, at, hop, detail ? JSON.stringify(detail) : null);
    sql.run(
      `INSERT INTO hops (item_id, at, hop, detail) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}`,
      ...values,
    );
  }
}
