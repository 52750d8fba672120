import { PRIORITY_RANK, type Priority, priorityOfRank } from "@clawrelay/protocol";

/** One row of `items`: a queued or finished message or receipt (finished rows keep no payload). */
export interface ItemRow extends Record<string, string | number | null> {
  seq: number;
  id: string;
  kind: "message" | "receipt";
  lane: number;
  sender: string;
  sender_relay: string | null;
  correlation_id: string;
  content_type: string | null;
  payload: string | null;
  bytes: number;
  notify: number;
  state: ItemState;
  enqueued_at: number;
  expires_at: number;
  attempts: number;
  next_attempt_at: number;
  ack_deadline: number | null;
  connector_id: string | null;
  delayed_due: number | null;
  finished_at: number | null;
  terminal: string | null;
  conversation_id: string | null;
  in_reply_to: string | null;
}

/**
 * Every column of `items` with the payload read as NULL (as on a finished row), for the paths
 * that act on an item without sending it — an ack, a processed report, an ack timeout — so a
 * payload of up to 256 KiB is not copied out of SQLite only to be dropped.
 */
export const ITEM_WITHOUT_PAYLOAD =
  "seq, id, kind, lane, sender, sender_relay, correlation_id, content_type, NULL AS payload, bytes, notify, state, enqueued_at, expires_at, attempts, next_attempt_at, ack_deadline, connector_id, delayed_due, finished_at, terminal, conversation_id, in_reply_to";

/** The optional conversation fields of a message row, as they go on the wire: absent, never null. */
export function conversationFields(row: Pick<ItemRow, "conversation_id" | "in_reply_to">): {
  conversationId?: string;
  inReplyTo?: string;
} {
  return {
    ...(row.conversation_id !== null ? { conversationId: row.conversation_id } : {}),
    ...(row.in_reply_to !== null ? { inReplyTo: row.in_reply_to } : {}),
  };
}

export type ItemState = "queued" | "inflight" | "acked" | "processed" | "failed" | "expired" | "shed" | "dead_lettered";
export const LIVE_STATES: readonly ItemState[] = ["queued", "inflight"];

export const NOTIFY_BITS = { delivered: 1, processed: 2, delayed: 4 } as const;
export type NotifyName = keyof typeof NOTIFY_BITS;

export function notifyMask(names: readonly NotifyName[] | undefined): number {
  return (names ?? []).reduce((mask, name) => mask | NOTIFY_BITS[name], 0);
}
export function wantsNotice(mask: number, name: NotifyName): boolean {
  return (mask & NOTIFY_BITS[name]) !== 0;
}

export function laneRank(priority: Priority): number {
  return PRIORITY_RANK[priority];
}
export function laneName(rank: number): Priority {
  return priorityOfRank(rank);
}
