import type Database from "better-sqlite3";
import { type OutboundRecord, recordSchema } from "./store-outbox-record.js";
import type { OutboundIds } from "./store-receipts.js";

/** What the hook formats may ask about the agent's own outbound messages. */
export interface SessionKeyLookup {
  /**
   * The session key stored with the outbound message named by its relay message id, outbound id
   * or correlation id (the latest such message that has one); undefined when none.
   */
  sessionKeyForMessage(idOrCorrelationId: string): string | undefined;
}

/**
 * The outbox's read side: what the receipts, the trace and the hook formats ask about outbound
 * messages. Apart from OutboxStore, which writes, so that the receipts can use it while the
 * outbox, which writes receipts, is built on top of them.
 */
export class OutboxLookup implements OutboundIds, SessionKeyLookup {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      get: db.prepare<[string], Record<string, unknown>>("SELECT * FROM outbox WHERE outbound_id = ?"),
      byMessage: db.prepare<[string], Record<string, unknown>>("SELECT * FROM outbox WHERE message_id = ? LIMIT 10"),
      outboundIdForMessage: db.prepare<[string], { outbound_id: string }>(
        "SELECT outbound_id FROM outbox WHERE message_id = ? LIMIT 1",
      ),
      // Each an index lookup (outbox_message, the primary key, outbox_correlation).
      sessionByMessage: db.prepare<[string], { session_key: string }>(
        "SELECT session_key FROM outbox WHERE message_id = ? AND session_key IS NOT NULL ORDER BY outbound_id DESC LIMIT 1",
      ),
      sessionByOutbound: db.prepare<[string], { session_key: string }>(
        "SELECT session_key FROM outbox WHERE outbound_id = ? AND session_key IS NOT NULL",
      ),
      sessionByCorrelation: db.prepare<[string], { session_key: string }>(
        "SELECT session_key FROM outbox WHERE correlation_id = ? AND session_key IS NOT NULL ORDER BY outbound_id DESC LIMIT 1",
      ),
    };
  }

  get(outboundId: string): OutboundRecord | undefined {
    const row = this.statements.get.get(outboundId);
    return row ? recordSchema.parse(row) : undefined;
  }

  /** The outbound messages the relay accepted as `messageId` (one, unless ids were reused; at most 10). */
  byMessage(messageId: string): OutboundRecord[] {
    return this.statements.byMessage.all(messageId).map((row) => recordSchema.parse(row));
  }

  outboundIdForMessage(messageId: string): string | null {
    return this.statements.outboundIdForMessage.get(messageId)?.outbound_id ?? null;
  }

  /** See SessionKeyLookup: an exact id (relay message id, then outbound id) before a correlation id. */
  sessionKeyForMessage(idOrCorrelationId: string): string | undefined {
    const { sessionByMessage, sessionByOutbound, sessionByCorrelation } = this.statements;
    const row =
      sessionByMessage.get(idOrCorrelationId) ??
      sessionByOutbound.get(idOrCorrelationId) ??
      sessionByCorrelation.get(idOrCorrelationId);
    return row?.session_key;
  }
}
