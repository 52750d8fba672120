import type { OutboundBody, Receipt, ReceiptStatus } from "@clawrelay/protocol";
import type { Store } from "./store.js";
import type { OutboundRecord } from "./store-outbox.js";

// What a message the agent sends becomes: its recipient and conversation (the reply rules), the
// relay origin it may go to, the body the relay gets, and the receipt when it fails here.

/** A relay URL as an origin (`https://relay.example.com`), or null when it is not one. */
export function relayOriginOf(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
}

/** Where a message goes and in which conversation, after the reply rules of PROTOCOL.md §8. */
export type ReplyTarget =
  | { ok: true; to: string; conversationId: string | undefined }
  | { ok: false; reason: "no_recipient" };

/**
 * With an `inReplyTo` naming a message this connector received, `to` defaults to that message's
 * sender and `conversationId` to its conversation, or to its own id when it had none. Anything
 * the agent gave explicitly wins.
 */
export function replyTarget(body: OutboundBody, store: Store): ReplyTarget {
  const answered = body.inReplyTo !== undefined ? store.inbox.received.find(body.inReplyTo) : undefined;
  const to = body.to ?? answered?.from;
  if (to === undefined) return { ok: false, reason: "no_recipient" };
  const conversationId =
    body.conversationId ?? (answered ? (answered.conversationId ?? answered.messageId) : undefined);
  return { ok: true, to, conversationId };
}

/** The body POSTed to the relay: the agent's fields that the relay reads, with the conversation resolved. */
export function relayBodyOf(body: OutboundBody, conversationId: string | undefined) {
  return {
    payload: body.payload,
    ...(body.priority !== undefined ? { priority: body.priority } : {}),
    ...(body.ttlSeconds !== undefined ? { ttlSeconds: body.ttlSeconds } : {}),
    ...(body.notify !== undefined ? { notify: body.notify } : {}),
    ...(body.contentType !== undefined ? { contentType: body.contentType } : {}),
    ...(conversationId !== undefined ? { conversationId } : {}),
    ...(body.inReplyTo !== undefined ? { inReplyTo: body.inReplyTo } : {}),
  };
}

/** The receipt of a message that failed (or expired) in the outbox, before any relay accepted it. */
export function localReceipt(
  record: OutboundRecord,
  outcome: { receiptId: string; status: ReceiptStatus; reason: string; attempts: number; at: number },
): Receipt {
  return {
    receiptId: outcome.receiptId,
    // Never accepted by a relay, so there is no relay message id: the outbound id stands in.
    messageId: record.outboundId,
    correlationId: record.correlationId,
    status: outcome.status,
    reason: outcome.reason,
    recipient: record.to,
    at: outcome.at,
    attempts: outcome.attempts,
    enqueuedAt: record.createdAt,
    ...(record.conversationId !== null ? { conversationId: record.conversationId } : {}),
  };
}
