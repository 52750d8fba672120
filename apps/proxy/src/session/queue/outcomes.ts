import type { ReceiptStatus } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { SessionMetrics } from "../metrics.js";
import type { ReceiptEmitter } from "../receipts/emit.js";
import { type ItemRow, type ItemState, LIVE_STATES } from "../storage/items.js";
import type { Capacity } from "./capacity.js";
import { recordHop } from "./trace.js";

/** What ending an item touches: the row, the queue's accounting, the metrics, the receipt. */
export interface OutcomesHost {
  readonly sql: Sql;
  readonly capacity: Pick<Capacity, "account">;
  readonly metrics: Pick<SessionMetrics, "count" | "observe">;
  readonly receipts: Pick<ReceiptEmitter, "emit">;
}

/** How items leave the live queue: finished (acked, or a receipt item) or terminated with an outcome. */
export class Outcomes {
  constructor(private readonly host: OutcomesHost) {}

  /** Take an item out of the live queue into a finished state (payload dropped, record kept). */
  finish(row: ItemRow, state: ItemState, now: number): void {
    if (LIVE_STATES.includes(row.state)) this.host.capacity.account(row, -1);
    this.host.sql.run(
      `UPDATE items SET state = ?, payload = NULL, ack_deadline = NULL, delayed_due = NULL, next_attempt_at = 0, finished_at = ?
       WHERE seq = ?`,
      state,
      now,
      row.seq,
    );
    row.state = state;
    row.finished_at = now;
  }

  /**
   * End a message with its one terminal outcome (PROTOCOL.md §7): the first terminal status wins,
   * later ones are ignored, so a message never gets two.
   */
  terminate(row: ItemRow, status: Extract<ReceiptStatus, ItemState>, now: number, reason?: string): boolean {
    if (row.kind === "receipt") {
      this.finish(row, status, now);
      return true;
    }
    const { sql, metrics } = this.host;
    const won = sql.run("UPDATE items SET terminal = ? WHERE seq = ? AND terminal IS NULL", status, row.seq) > 0;
    if (!won) return false;
    row.terminal = status;
    this.finish(row, status, now);
    recordHop(sql, row.id, status, now, reason ? { reason } : undefined);
    metrics.count("messages_out", { peer: row.sender, outcome: status }, 1, now);
    if (status === "processed") metrics.observe("processed_latency_ms", now - row.enqueued_at, now);
    this.host.receipts.emit(row, status, now, reason);
    return true;
  }
}
