import type Database from "better-sqlite3";

/**
 * Versioned migrations, applied in order and tracked in SQLite's `user_version`.
 * Append only: never edit a shipped step, add the next one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

  CREATE TABLE inbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'receipt')),
    correlation_id TEXT,
    message_id TEXT,
    priority_rank INTEGER NOT NULL,
    json TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    finished_at INTEGER,
    last_error TEXT
  ) STRICT;
  CREATE INDEX inbox_due ON inbox (state, next_attempt_at);
  CREATE INDEX inbox_order ON inbox (state, priority_rank);
  CREATE INDEX inbox_finished ON inbox (state, finished_at);

  CREATE TABLE seen (id TEXT PRIMARY KEY, seen_at INTEGER NOT NULL) STRICT;
  CREATE INDEX seen_by_time ON seen (seen_at);

  CREATE TABLE pending_reports (
    id TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    reason TEXT,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE outbox (
    outbound_id TEXT PRIMARY KEY,
    to_agent TEXT NOT NULL,
    to_relay TEXT,
    body TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    message_id TEXT,
    last_error TEXT
  ) STRICT;
  CREATE UNIQUE INDEX outbox_idempotency ON outbox (to_agent, idempotency_key);
  CREATE INDEX outbox_due ON outbox (state, priority_rank, outbound_id);
  CREATE INDEX outbox_message ON outbox (message_id);

  CREATE TABLE dead_letters (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    correlation_id TEXT,
    message_id TEXT,
    priority_rank INTEGER NOT NULL,
    json TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    dead_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX dead_letters_by_time ON dead_letters (dead_at);

  CREATE TABLE receipts (
    receipt_id TEXT PRIMARY KEY,
    outbound_id TEXT,
    message_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    status TEXT NOT NULL,
    json TEXT NOT NULL,
    at INTEGER NOT NULL,
    stored_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX receipts_by_outbound ON receipts (outbound_id);
  CREATE INDEX receipts_by_message ON receipts (message_id);
  CREATE INDEX receipts_by_time ON receipts (stored_at);

  CREATE TABLE trace (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    correlation_id TEXT,
    message_id TEXT,
    hop TEXT NOT NULL,
    at INTEGER NOT NULL,
    detail TEXT
  ) STRICT;
  CREATE INDEX trace_by_correlation ON trace (correlation_id);
  CREATE INDEX trace_by_message ON trace (message_id);
  CREATE INDEX trace_by_time ON trace (at);
  `,
  // 2: lane-FIFO inbox. A lane is (kind, priority_rank) in rowid order; the index ends in the
  // implicit rowid, so each lane's first pending items are an `ORDER BY rowid LIMIT n` lookup.
  // It replaces inbox_order, which only the old cross-lane due query used.
  `
  CREATE INDEX inbox_lane ON inbox (state, kind, priority_rank);
  DROP INDEX inbox_order;
  `,
  // 3: first in, first out per outbox stream (recipient, priority rank). A stream sends only its
  // head, its oldest unfinished message, so two messages to one agent in one lane reach the relay
  // in the order the agent sent them, and a head waiting out a Retry-After holds back the rest of
  // its stream, not other streams. `outbox_streams` holds each stream's head, so the drain reads
  // one row per stream whatever the outbox's depth; `outbox_stream` finds the next head in one
  // seek; `outbox_expiry` serves the expiry sweep without a scan.
  `
  CREATE TABLE outbox_streams (
    to_agent TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,
    head_id TEXT NOT NULL,
    PRIMARY KEY (to_agent, priority_rank)
  ) STRICT;
  CREATE INDEX outbox_stream ON outbox (to_agent, priority_rank, outbound_id) WHERE state IN ('queued', 'sending');
  CREATE INDEX outbox_expiry ON outbox (state, expires_at);
  INSERT INTO outbox_streams (to_agent, priority_rank, head_id)
    SELECT to_agent, priority_rank, MIN(outbound_id) FROM outbox WHERE state IN ('queued', 'sending')
    GROUP BY to_agent, priority_rank;
  DROP INDEX outbox_due;
  `,
  // 4: conversations (PROTOCOL.md §4, §8). The outbox keeps each message's conversationId and
  // inReplyTo (for local receipts and GET /v1/outbound) and the local OpenClaw session that sent
  // it (`session_key`), found by relay message id, outbound id or correlation id. `received`
  // remembers who sent each message this connector took in and in which conversation, for as long
  // as its id is deduplicated: a reply defaults `to` and `conversationId` from it. It is a table
  // of its own because inbox rows drop their JSON once delivered and leave on dead-lettering.
  // Messages still pending (or dead-lettered) at the upgrade are copied in from their JSON.
  `
  ALTER TABLE outbox ADD COLUMN conversation_id TEXT;
  ALTER TABLE outbox ADD COLUMN in_reply_to TEXT;
  ALTER TABLE outbox ADD COLUMN session_key TEXT;
  CREATE INDEX outbox_correlation ON outbox (correlation_id);
  CREATE TABLE received (
    message_id TEXT PRIMARY KEY,
    correlation_id TEXT NOT NULL,
    from_agent TEXT NOT NULL,
    conversation_id TEXT,
    in_reply_to TEXT,
    received_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX received_by_correlation ON received (correlation_id, received_at);
  CREATE INDEX received_by_time ON received (received_at);
  INSERT OR IGNORE INTO received (message_id, correlation_id, from_agent, conversation_id, in_reply_to, received_at)
    SELECT id, correlation_id, json_extract(json, '$.from'), json_extract(json, '$.conversationId'),
      json_extract(json, '$.inReplyTo'), received_at
    FROM (SELECT id, correlation_id, json, received_at FROM inbox WHERE kind = 'message'
          UNION ALL SELECT id, correlation_id, json, received_at FROM dead_letters WHERE kind = 'message')
    WHERE json_valid(json) AND correlation_id IS NOT NULL AND json_type(json, '$.from') = 'text';
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Bring the store up to `target` (the current version unless a test builds an older store). */
export function migrate(db: Database.Database, target = MIGRATIONS.length): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`store schema version ${current} is newer than this connector (${MIGRATIONS.length})`);
  }
  for (let version = current; version < Math.min(target, MIGRATIONS.length); version++) {
    const step = MIGRATIONS[version] as string;
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
