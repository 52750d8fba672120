import { RelayError } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { Caller } from "../../types.js";
import type { RecipientState } from "../observation/recipient.js";
import { conversationFields, type ItemRow, laneName } from "../storage/items.js";
import type { HopLog } from "./trace.js";

export interface MessageRecord {
  messageId: string;
  correlationId: string;
  from: string;
  to: string;
  priority: string;
  state: string;
  enqueuedAt: number;
  expiresAt: number;
  attempts: number;
  finishedAt: number | null;
  terminal: string | null;
  /** As the send gave them; absent when it did not. */
  conversationId?: string;
  inReplyTo?: string;
  receipts: { receiptId: string; status: string; at: number; reason: string | null }[];
  trace: { hop: string; at: number; detail: Record<string, unknown> | null }[];
  /** Why a live message waits (`clawrelay trace`); absent once the message has ended. */
  recipient?: RecipientState;
}

/** State, receipts and trace of one message: for its sender, its recipient, or an admin. */
export function readMessageRecord(
  sql: Sql,
  trace: Pick<HopLog, "flush">,
  agentId: string,
  caller: Caller,
  messageId: string,
): MessageRecord {
  const row = sql.one<ItemRow>("SELECT * FROM items WHERE id = ? AND kind = 'message'", messageId);
  if (!row) throw new RelayError("not_found", "no such message (records are kept 24 h after a message ends)");
  if (caller.kind === "agent" && caller.agentId !== row.sender && caller.agentId !== agentId) {
    throw new RelayError("not_owner", "only the sender, the recipient or an admin may read this message");
  }
  const receipts = sql.all<{ receipt_id: string; status: string; at: number; reason: string | null }>(
    "SELECT receipt_id, status, at, reason FROM receipts_sent WHERE item_id = ? ORDER BY at, receipt_id",
    messageId,
  );
  // The hops still in memory too, so a trace shows every hop right after it happened.
  trace.flush();
  const hops = sql.all<{ hop: string; at: number; detail: string | null }>(
    "SELECT hop, at, detail FROM hops WHERE item_id = ? ORDER BY id",
    messageId,
  );
  return {
    messageId: row.id,
    correlationId: row.correlation_id,
    from: row.sender,
    to: agentId,
    priority: laneName(row.lane),
    state: row.state,
    enqueuedAt: row.enqueued_at,
    expiresAt: row.expires_at,
    attempts: row.attempts,
    finishedAt: row.finished_at,
    terminal: row.terminal,
    ...conversationFields(row),
    receipts: receipts.map((r) => ({ receiptId: r.receipt_id, status: r.status, at: r.at, reason: r.reason })),
    trace: hops.map((h) => ({
      hop: h.hop,
      at: h.at,
      detail: h.detail ? (JSON.parse(h.detail) as Record<string, unknown>) : null,
    })),
  };
}

/** Drop finished records past retention, a batch at a time (their hops and receipts with them). */
export function sweepRecords(sql: Sql, trace: Pick<HopLog, "flush">, olderThan: number, batch = 200): number {
  // A hop still in memory would be written after its item's rows are gone: an orphan.
  trace.flush();
  const rows = sql.all<{ id: string }>(
    "SELECT id FROM items WHERE finished_at IS NOT NULL AND finished_at <= ? ORDER BY finished_at LIMIT ?",
    olderThan,
    batch,
  );
  for (const { id } of rows) {
    sql.run("DELETE FROM hops WHERE item_id = ?", id);
    sql.run("DELETE FROM receipts_sent WHERE item_id = ?", id);
    sql.run("DELETE FROM items WHERE id = ?", id);
  }
  return rows.length;
}
