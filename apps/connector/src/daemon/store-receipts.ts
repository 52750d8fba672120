import { type Receipt, receiptSchema } from "@clawrelay/protocol";
import type Database from "better-sqlite3";

/** What the receipts ask of the outbox: which outbound message a relay message id belongs to. */
export interface OutboundIds {
  /** The outbound message the relay accepted as `messageId`, if it is still in the outbox. */
  outboundIdForMessage(messageId: string): string | null;
}

/**
 * The `receipts` table: every receipt about the agent's own outbound messages (from the relay or
 * made locally), for `GET /v1/outbound/{id}`. A receipt is tied to its outbound message when it
 * is stored, or later when the relay's message id becomes known (`link`).
 */
export class ReceiptStore {
  private readonly statements;

  constructor(
    db: Database.Database,
    private readonly outbound: OutboundIds,
  ) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO receipts (receipt_id, outbound_id, message_id, correlation_id, status, json, at, stored_at)
         VALUES (@receiptId, @outboundId, @messageId, @correlationId, @status, @json, @at, @now)
         ON CONFLICT (receipt_id) DO NOTHING`,
      ),
      link: db.prepare<[string, string]>(
        "UPDATE receipts SET outbound_id = ? WHERE message_id = ? AND outbound_id IS NULL",
      ),
      forOutbound: db.prepare<[string, string], { json: string }>(
        "SELECT json FROM receipts WHERE outbound_id = ? OR message_id = ? ORDER BY at, stored_at",
      ),
      prune: db.prepare<[number]>("DELETE FROM receipts WHERE stored_at < ?"),
    };
  }

  /** Keep a receipt (a repeat of its receipt id is ignored); call inside the transaction that stores it. */
  record(receipt: Receipt, now: number): void {
    this.statements.insert.run({
      receiptId: receipt.receiptId,
      outboundId: this.outbound.outboundIdForMessage(receipt.messageId),
      messageId: receipt.messageId,
      correlationId: receipt.correlationId,
      status: receipt.status,
      json: JSON.stringify(receipt),
      at: receipt.at,
      now,
    });
  }

  /** Tie the receipts about `messageId` not yet tied to an outbound message to `outboundId`. */
  link(outboundId: string, messageId: string): void {
    this.statements.link.run(outboundId, messageId);
  }

  /** Receipts tied to `outboundId` or about `messageId`, in the order they were made. */
  forOutbound(outboundId: string, messageId: string): Receipt[] {
    return this.statements.forOutbound.all(outboundId, messageId).flatMap((row) => {
      try {
        const parsed = receiptSchema.safeParse(JSON.parse(row.json));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }

  prune(before: number): void {
    this.statements.prune.run(before);
  }
}
