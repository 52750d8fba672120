import { type DeliverItem, deliverItemSchema, PRIORITY_RANK } from "@clawrelay/protocol";

export interface StoreInboundResult {
  /** Ids now durably held (stored now or already seen): acknowledge these, and only after this returns. */
  ack: string[];
  /** Ids refused because the inbox is at its cap. */
  nackInboxFull: string[];
  /** Items newly stored by this call (duplicates excluded). */
  stored: DeliverItem[];
  duplicates: string[];
}

export interface InboxEntry {
  id: string;
  kind: "message" | "receipt";
  correlationId: string | null;
  messageId: string | null;
  attempts: number;
  receivedAt: number;
  /** Undefined when the stored JSON no longer parses (a corrupt row); the worker dead-letters it. */
  item: DeliverItem | undefined;
}

/** A received message's inbox row as `clawrelay trace` shows it. */
export interface InboxMessage {
  id: string;
  correlationId: string | null;
  json: string | null;
  state: "pending" | "delivered";
  attempts: number;
  receivedAt: number;
  finishedAt: number | null;
  nextAttemptAt: number;
  lastError: string | null;
}

export function parseStoredItem(json: string | null): DeliverItem | undefined {
  if (json === null) return undefined;
  try {
    const parsed = deliverItemSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A receipt's hook hops carry the message id of the message it reports on, so they are named
 * apart (`receipt_hook_delivered`, `receipt_hook_dead_lettered`): a trace must not read them as
 * that message reaching an agent. No receipt status starts with `hook_`, so these never collide
 * with the `receipt_<status>` hop of a stored receipt.
 */
export function hopName(kind: "message" | "receipt", hop: string): string {
  return kind === "message" ? hop : `receipt_hook_${hop.replace(/^hook_/, "")}`;
}

export function describeItem(item: DeliverItem) {
  if (item.kind === "message") {
    return { correlationId: item.correlationId, messageId: item.id, rank: PRIORITY_RANK[item.priority] };
  }
  // Receipts ride the critical lane, as they do on the relay.
  return { correlationId: item.receipt.correlationId, messageId: item.receipt.messageId, rank: 0 };
}

/** The ids a pick skips (the items in hand): a Set, or a view over several. */
export interface IdSet {
  has(id: string): boolean;
  readonly size: number;
}

/** What a hook call (or its absence) made of an inbox item, as the inbox records it. */
export type InboxOutcome =
  | { kind: "delivered"; entry: InboxEntry; attempts: number; now: number }
  | {
      kind: "dead_letter";
      entry: InboxEntry;
      attempts: number;
      reason: string;
      outcome: "failed" | "dead_lettered";
      now: number;
    }
  | { kind: "retry"; entry: InboxEntry; attempts: number; nextAttemptAt: number; error: string; now: number };
