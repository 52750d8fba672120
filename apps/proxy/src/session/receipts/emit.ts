import { isFailureStatus, type Receipt, type ReceiptStatus } from "@clawrelay/protocol";
import { monotonicFactory } from "ulid";
import type { RelayConfig } from "../../config.js";
import { log } from "../../log.js";
import type { Sql } from "../../platform/sql.js";
import type { SessionMetrics } from "../metrics.js";
import type { Hop, HopLog } from "../queue/trace.js";
import type { NotifyName, OutcomeRow } from "../storage/items.js";
import { wantsNotice } from "../storage/items.js";
import type { ReceiptOutbox } from "./outbox.js";

/**
 * Receipt ids increase even within one millisecond (a `delivered` and a `processed` receipt are
 * often made in the same one), so ordering a message's receipts by id is ordering them by birth.
 */
const receiptUlid = monotonicFactory();

export interface EmitterHost {
  readonly sql: Sql;
  readonly metrics: Pick<SessionMetrics, "count">;
  readonly config: Pick<RelayConfig, "RELAY_ORIGIN" | "TRUSTED_RELAYS">;
  readonly outbox: Pick<ReceiptOutbox, "add">;
  /** The trace's hops, written behind (the receipt's row itself is written at once). */
  readonly trace: Pick<HopLog, "record">;
  agentId(): string;
}

/** Makes the receipts of this session's messages: records each one, and sends those the sender gets. */
export class ReceiptEmitter {
  constructor(private readonly host: EmitterHost) {}

  /**
   * Record a receipt for a message and, when the sender gets it (failures always; delivered,
   * processed and delayed only when asked in `notify`), put it in the receipt outbox. The outbox
   * is flushed in the background and retried by the alarm, so no receipt is lost to a failed RPC.
   * `hops` (the outcome's own, say) are recorded before the receipt's, in that order.
   */
  emit(row: OutcomeRow, status: ReceiptStatus, now: number, reason?: string, hops: readonly Hop[] = []): Receipt {
    const { sql, config } = this.host;
    const agentId = this.host.agentId();
    const receipt: Receipt = {
      receiptId: receiptUlid(now),
      messageId: row.id,
      correlationId: row.correlation_id,
      status,
      ...(reason ? { reason } : {}),
      recipient: agentId,
      at: now,
      attempts: row.attempts,
      enqueuedAt: row.enqueued_at,
      // Every receipt of a message names its conversation, so the sender can file it without a lookup.
      ...(row.conversation_id !== null ? { conversationId: row.conversation_id } : {}),
    };
    sql.run(
      "INSERT INTO receipts_sent (receipt_id, item_id, status, at, reason) VALUES (?, ?, ?, ?, ?)",
      receipt.receiptId,
      row.id,
      status,
      now,
      reason ?? null,
    );
    this.host.metrics.count("receipts", { status }, 1, now);
    const sent = isFailureStatus(status) || wantsNotice(row.notify, status as NotifyName);
    this.host.trace.record([
      ...hops,
      { itemId: row.id, hop: "receipt_emitted", at: now, detail: { status, receiptId: receipt.receiptId, sent } },
    ]);
    log("info", {
      event: "receipt_emitted",
      correlationId: row.correlation_id,
      messageId: row.id,
      agentId,
      hop: "receipt",
      status,
      sent,
    });
    if (!sent) return receipt;
    const destination =
      row.sender_relay === null || row.sender_relay === config.RELAY_ORIGIN ? "local" : row.sender_relay;
    if (
      destination !== "local" &&
      !config.TRUSTED_RELAYS.some((relay) => new URL(relay.origin).origin === destination)
    ) {
      // Receipts only go to relays this one trusts: a token's `relay` claim alone must not make
      // this relay POST to arbitrary origins. The receipt stays in the record.
      log("warn", {
        event: "receipt_undeliverable",
        correlationId: row.correlation_id,
        messageId: row.id,
        agentId,
        destination,
      });
      return receipt;
    }
    this.host.outbox.add(receipt, destination, row.sender, now);
    return receipt;
  }
}
