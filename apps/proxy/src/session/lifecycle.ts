import { isFailureStatus, PROTOCOL_LIMITS, type Receipt, type ReceiptStatus } from "@clawrelay/protocol";
import { monotonicFactory } from "ulid";
import { log } from "../log.js";
import type { SessionContext } from "./context.js";
import { type ItemRow, type ItemState, LIVE_STATES, type NotifyName, wantsNotice } from "./items.js";
import { recordHop } from "./records.js";

/**
 * Receipt ids increase even within one millisecond (a `delivered` and a `processed` receipt are
 * often made in the same one), so ordering a message's receipts by id is ordering them by birth.
 */
const receiptUlid = monotonicFactory();

/** Take an item out of the live queue into a finished state (payload dropped, record kept). */
export function finish(s: SessionContext, row: ItemRow, state: ItemState, now: number): void {
  if (LIVE_STATES.includes(row.state)) s.capacity.account(row, -1);
  s.sql.run(
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
export function terminate(
  s: SessionContext,
  row: ItemRow,
  status: Extract<ReceiptStatus, ItemState>,
  now: number,
  reason?: string,
): boolean {
  if (row.kind === "receipt") {
    finish(s, row, status, now);
    return true;
  }
  const won = s.sql.run("UPDATE items SET terminal = ? WHERE seq = ? AND terminal IS NULL", status, row.seq) > 0;
  if (!won) return false;
  row.terminal = status;
  finish(s, row, status, now);
  recordHop(s.sql, row.id, status, now, reason ? { reason } : undefined);
  s.metrics.count("messages_out", { peer: row.sender, outcome: status }, 1, now);
  if (status === "processed") s.metrics.observe("processed_latency_ms", now - row.enqueued_at, now);
  emitReceipt(s, row, status, now, reason);
  return true;
}

/**
 * Record a receipt for a message and, when the sender gets it (failures always; delivered,
 * processed and delayed only when asked in `notify`), put it in the receipt outbox. The outbox
 * is flushed in the background and retried by the alarm, so no receipt is lost to a failed RPC.
 */
export function emitReceipt(
  s: SessionContext,
  row: ItemRow,
  status: ReceiptStatus,
  now: number,
  reason?: string,
): Receipt {
  const receipt: Receipt = {
    receiptId: receiptUlid(now),
    messageId: row.id,
    correlationId: row.correlation_id,
    status,
    ...(reason ? { reason } : {}),
    recipient: s.agentId(),
    at: now,
    attempts: row.attempts,
    enqueuedAt: row.enqueued_at,
    // Every receipt of a message names its conversation, so the sender can file it without a lookup.
    ...(row.conversation_id !== null ? { conversationId: row.conversation_id } : {}),
  };
  s.sql.run(
    "INSERT INTO receipts_sent (receipt_id, item_id, status, at, reason) VALUES (?, ?, ?, ?, ?)",
    receipt.receiptId,
    row.id,
    status,
    now,
    reason ?? null,
  );
  s.metrics.count("receipts", { status }, 1, now);
  const sent = isFailureStatus(status) || wantsNotice(row.notify, status as NotifyName);
  recordHop(s.sql, row.id, "receipt_emitted", now, { status, receiptId: receipt.receiptId, sent });
  log("info", {
    event: "receipt_emitted",
    correlationId: row.correlation_id,
    messageId: row.id,
    agentId: s.agentId(),
    hop: "receipt",
    status,
    sent,
  });
  if (!sent) return receipt;
  const destination =
    row.sender_relay === null || row.sender_relay === s.config.RELAY_ORIGIN ? "local" : row.sender_relay;
  if (
    destination !== "local" &&
    !s.config.TRUSTED_RELAYS.some((relay) => new URL(relay.origin).origin === destination)
  ) {
    // Receipts only go to relays this one trusts: a token's `relay` claim alone must not make
    // this relay POST to arbitrary origins. The receipt stays in the record.
    log("warn", {
      event: "receipt_undeliverable",
      correlationId: row.correlation_id,
      messageId: row.id,
      agentId: s.agentId(),
      destination,
    });
    return receipt;
  }
  s.sql.run(
    `INSERT INTO receipt_outbox (receipt_id, destination, sender, body, attempts, next_attempt_at, give_up_at)
     VALUES (?, ?, ?, ?, 0, ?, ?)`,
    receipt.receiptId,
    destination,
    row.sender,
    JSON.stringify(receipt),
    now,
    now + PROTOCOL_LIMITS.receiptRetryWindowSeconds * 1000,
  );
  s.flushReceipts();
  return receipt;
}
