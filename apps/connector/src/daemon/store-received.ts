import type { MessageItem } from "@clawrelay/protocol";
import type Database from "better-sqlite3";
import { z } from "zod";

/** A message this connector took in, as a reply to it needs it (PROTOCOL.md §8). */
export interface ReceivedMessage {
  messageId: string;
  correlationId: string;
  from: string;
  conversationId: string | null;
  inReplyTo: string | null;
  receivedAt: number;
}

const rowSchema = z
  .object({
    message_id: z.string(),
    correlation_id: z.string(),
    from_agent: z.string(),
    conversation_id: z.string().nullable(),
    in_reply_to: z.string().nullable(),
    received_at: z.number(),
  })
  .transform(
    (row): ReceivedMessage => ({
      messageId: row.message_id,
      correlationId: row.correlation_id,
      from: row.from_agent,
      conversationId: row.conversation_id,
      inReplyTo: row.in_reply_to,
      receivedAt: row.received_at,
    }),
  );

/**
 * Who sent each received message and in which conversation, kept as long as its id is
 * deduplicated (the store prunes it with `seen`), whatever became of the inbox row.
 */
export class ReceivedStore {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      remember: db.prepare(
        `INSERT INTO received (message_id, correlation_id, from_agent, conversation_id, in_reply_to, received_at)
         VALUES (@messageId, @correlationId, @from, @conversationId, @inReplyTo, @now)
         ON CONFLICT (message_id) DO UPDATE SET correlation_id = excluded.correlation_id, from_agent = excluded.from_agent,
           conversation_id = excluded.conversation_id, in_reply_to = excluded.in_reply_to, received_at = excluded.received_at`,
      ),
      byMessage: db.prepare<[string], Record<string, unknown>>("SELECT * FROM received WHERE message_id = ?"),
      // A correlation id may be shared by several messages (the sender chooses it): the latest wins.
      byCorrelation: db.prepare<[string], Record<string, unknown>>(
        "SELECT * FROM received WHERE correlation_id = ? ORDER BY received_at DESC, message_id DESC LIMIT 1",
      ),
      prune: db.prepare("DELETE FROM received WHERE received_at < ?"),
    };
  }

  /** Call inside the transaction that stores the message. */
  remember(item: MessageItem, now: number): void {
    this.statements.remember.run({
      messageId: item.id,
      correlationId: item.correlationId,
      from: item.from,
      conversationId: item.conversationId ?? null,
      inReplyTo: item.inReplyTo ?? null,
      now,
    });
  }

  /** The received message named by its relay message id, else by its correlation id. */
  find(id: string): ReceivedMessage | undefined {
    const row = this.statements.byMessage.get(id) ?? this.statements.byCorrelation.get(id);
    return row ? rowSchema.parse(row) : undefined;
  }

  prune(before: number): void {
    this.statements.prune.run(before);
  }
}
