import type { ReceiptStatus } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { SessionMetrics } from "../metrics.js";
import type { ReceiptEmitter } from "../receipts/emit.js";
import { type ItemState, LIVE_STATES, OUTCOME_COLUMNS, type OutcomeRow } from "../storage/items.js";
import type { DeadlineNotes } from "../time/scheduler.js";
import type { Capacity } from "./capacity.js";

/** What ending an item touches: the row, the queue's accounting, the metrics, the receipt. */
export interface OutcomesHost {
  readonly sql: Sql;
  readonly capacity: Pick<Capacity, "account" | "liveItems">;
  readonly metrics: Pick<SessionMetrics, "count" | "observe">;
  readonly receipts: Pick<ReceiptEmitter, "emit">;
  /** A finished item is swept once past retention: its `finished_at` is a deadline. */
  readonly deadlines: DeadlineNotes;
}

const FINISH_COLUMNS =
  "state = ?, payload = NULL, ack_deadline = NULL, delayed_due = NULL, next_attempt_at = 0, finished_at = ?";

/** What delivery asks of the outcomes (acks, reports, timeouts). */
export type DeliveryOutcomes = Pick<
  Outcomes,
  "finish" | "finishInFlight" | "terminate" | "terminateAcked" | "finishedInFlight" | "liveItems"
>;

/** How items leave the live queue: finished (acked, or a receipt item) or terminated with an outcome. */
export class Outcomes {
  /**
   * How many in-flight items this took out of flight since the session started. Delivery owns the
   * in-flight count; this tells it of the items that left flight by another path (expiry).
   */
  finishedInFlight = 0;

  constructor(private readonly host: OutcomesHost) {}

  /** Items queued or in flight, messages and receipts (the queue's accounting). */
  liveItems(): number {
    return this.host.capacity.liveItems();
  }

  /** Take an item out of the live queue into a finished state (payload dropped, record kept). */
  finish(row: OutcomeRow, state: ItemState, now: number): void {
    this.host.sql.run(`UPDATE items SET ${FINISH_COLUMNS} WHERE seq = ?`, state, now, row.seq);
    this.left(row, state, now);
  }

  /**
   * The usual ack: an item in flight, finished as acked by one statement that reads the row back
   * (null: not in flight; the caller looks further). In flight implies sent, so no trace lookup.
   */
  finishInFlight(id: string, now: number): OutcomeRow | null {
    const row = this.host.sql.one<OutcomeRow>(
      `UPDATE items SET ${FINISH_COLUMNS} WHERE id = ? AND state = 'inflight' RETURNING ${OUTCOME_COLUMNS.sql}`,
      "acked",
      now,
      id,
    );
    if (row === null) return null;
    // RETURNING reads the new values; the accounting goes by the state the item left.
    row.state = "inflight";
    this.left(row, "acked", now);
    return row;
  }

  /** The row is finished in storage: its accounting and its copy follow (once, by its state). */
  private left(row: OutcomeRow, state: ItemState, now: number): void {
    this.host.deadlines.made("finished", now);
    if (LIVE_STATES.includes(row.state)) this.host.capacity.account(row, -1);
    if (row.state === "inflight") this.finishedInFlight++;
    row.state = state;
  }

  /**
   * End a message with its one terminal outcome (PROTOCOL.md §7): the first terminal status wins,
   * later ones are ignored, so a message never gets two. The terminal status and the finished
   * state are one statement, guarded by `terminal IS NULL`.
   */
  terminate(row: OutcomeRow, status: Extract<ReceiptStatus, ItemState>, now: number, reason?: string): boolean {
    if (row.kind === "receipt") {
      this.finish(row, status, now);
      return true;
    }
    const won =
      this.host.sql.run(
        `UPDATE items SET terminal = ?, ${FINISH_COLUMNS} WHERE seq = ? AND terminal IS NULL`,
        status,
        status,
        now,
        row.seq,
      ) > 0;
    if (!won) return false;
    this.ended(row, status, now, reason);
    return true;
  }

  /**
   * The usual outcome report: a message acked and not yet ended gets its terminal status in one
   * statement that reads the row back (false: not such a message; the caller looks further).
   */
  terminateAcked(id: string, status: Extract<ReceiptStatus, ItemState>, now: number, reason?: string): boolean {
    const row = this.host.sql.one<OutcomeRow>(
      `UPDATE items SET terminal = ?, ${FINISH_COLUMNS}
       WHERE id = ? AND kind = 'message' AND state = 'acked' AND terminal IS NULL RETURNING ${OUTCOME_COLUMNS.sql}`,
      status,
      status,
      now,
      id,
    );
    if (row === null) return false;
    row.state = "acked";
    this.ended(row, status, now, reason);
    return true;
  }

  /** A message's terminal status is stored: its accounting, metrics, hop and receipt follow. */
  private ended(row: OutcomeRow, status: Extract<ReceiptStatus, ItemState>, now: number, reason?: string): void {
    const { metrics } = this.host;
    row.terminal = status;
    this.left(row, status, now);
    metrics.count("messages_out", { peer: row.sender, outcome: status }, 1, now);
    if (status === "processed") metrics.observe("processed_latency_ms", now - row.enqueued_at, now);
    // The outcome's hop goes in with the receipt's, in one statement.
    const hop = { itemId: row.id, hop: status, at: now, detail: reason ? { reason } : undefined };
    this.host.receipts.emit(row, status, now, reason, [hop]);
  }
}
