import { PROTOCOL_LIMITS } from "@clawrelay/protocol";

/**
 * Versioned schema of one relay session (one agent). One row per item, never a blob for the
 * queue; every query the session runs has an index, mostly partial ones on the live states so
 * that cost per operation does not grow with the number of finished records.
 *
 * Lanes are stored as ranks (0 critical, 1 normal, 2 low) so "lane, then arrival" is one index.
 */
/** The replay window a stored nonce lives for, in ms (v10 sorts stored nonces by it). */
const NONCE_WINDOW_MS = PROTOCOL_LIMITS.nonceWindowSeconds * 1000;

export const SESSION_MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

   CREATE TABLE nonces (
     sender TEXT NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL,
     PRIMARY KEY (sender, nonce)
   ) WITHOUT ROWID;
   CREATE INDEX nonces_expiry ON nonces (expires_at);

   CREATE TABLE items (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL,
     lane INTEGER NOT NULL,
     sender TEXT NOT NULL,
     sender_relay TEXT,
     correlation_id TEXT NOT NULL,
     content_type TEXT,
     payload TEXT,
     bytes INTEGER NOT NULL,
     notify INTEGER NOT NULL DEFAULT 0,
     state TEXT NOT NULL,
     enqueued_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL DEFAULT 0,
     ack_deadline INTEGER,
     connector_id TEXT,
     delayed_due INTEGER,
     finished_at INTEGER,
     terminal TEXT
   );
   CREATE INDEX items_ready ON items (lane, seq) WHERE state = 'queued';
   CREATE INDEX items_pending ON items (seq) WHERE state IN ('queued', 'inflight');
   CREATE INDEX items_expiry ON items (expires_at) WHERE state IN ('queued', 'inflight');
   CREATE INDEX items_inflight ON items (ack_deadline) WHERE state = 'inflight';
   CREATE INDEX items_backoff ON items (next_attempt_at) WHERE state = 'queued' AND next_attempt_at > 0;
   CREATE INDEX items_delayed ON items (delayed_due) WHERE delayed_due IS NOT NULL;
   CREATE INDEX items_finished ON items (finished_at) WHERE finished_at IS NOT NULL;
   CREATE INDEX items_expired_at ON items (finished_at) WHERE state = 'expired';

   CREATE TABLE lane_usage (lane INTEGER PRIMARY KEY, items INTEGER NOT NULL, bytes INTEGER NOT NULL);
   INSERT INTO lane_usage VALUES (0, 0, 0), (1, 0, 0), (2, 0, 0);
   CREATE TABLE receipt_usage (id INTEGER PRIMARY KEY CHECK (id = 0), items INTEGER NOT NULL, bytes INTEGER NOT NULL);
   INSERT INTO receipt_usage VALUES (0, 0, 0);
   CREATE TABLE sender_usage (sender TEXT PRIMARY KEY, items INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;

   CREATE TABLE hops (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     item_id TEXT NOT NULL, at INTEGER NOT NULL, hop TEXT NOT NULL, detail TEXT
   );
   CREATE INDEX hops_item ON hops (item_id, id);

   CREATE TABLE receipts_sent (
     receipt_id TEXT PRIMARY KEY, item_id TEXT NOT NULL, status TEXT NOT NULL, at INTEGER NOT NULL, reason TEXT
   ) WITHOUT ROWID;
   CREATE INDEX receipts_sent_item ON receipts_sent (item_id);

   CREATE TABLE receipt_outbox (
     receipt_id TEXT PRIMARY KEY,
     destination TEXT NOT NULL,
     sender TEXT NOT NULL,
     body TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     give_up_at INTEGER NOT NULL,
     last_error TEXT
   ) WITHOUT ROWID;
   CREATE INDEX receipt_outbox_due ON receipt_outbox (next_attempt_at);

   CREATE TABLE idempotency (
     sender TEXT NOT NULL, key TEXT NOT NULL, digest TEXT NOT NULL, answer TEXT NOT NULL, expires_at INTEGER NOT NULL,
     PRIMARY KEY (sender, key)
   ) WITHOUT ROWID;
   CREATE INDEX idempotency_expiry ON idempotency (expires_at);

   CREATE TABLE rate_buckets (sender TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;`,
  // v2: hourly metrics (kept 48 h) and an index for recent failures.
  `CREATE TABLE metric_counters (
     hour INTEGER NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL, value REAL NOT NULL,
     PRIMARY KEY (hour, name, labels)
   ) WITHOUT ROWID;
   CREATE TABLE metric_histograms (
     hour INTEGER NOT NULL, name TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
     PRIMARY KEY (hour, name, bucket)
   ) WITHOUT ROWID;
   CREATE INDEX items_failures ON items (finished_at) WHERE terminal IN ('failed', 'expired', 'shed', 'dead_lettered');`,
  // v3 (protocol v1.1): a message's conversation, passed on unchanged (deliver item, record, receipts).
  // NULL when the send had none, so rows from before this migration read as "absent".
  `ALTER TABLE items ADD COLUMN conversation_id TEXT;
   ALTER TABLE items ADD COLUMN in_reply_to TEXT;`,
  // v4: a token bucket per other agent reading this session (message records), taken before its nonce is stored.
  `CREATE TABLE read_buckets (sender TEXT PRIMARY KEY, tokens REAL NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;`,
  // v5: exact statistics of each hour's latency observations (exact Prometheus _sum, percentiles
  // kept inside the observed range); one row per hour and histogram (metrics/latency-stats.ts).
  `CREATE TABLE metric_latency_stats (
     hour INTEGER NOT NULL, name TEXT NOT NULL,
     count INTEGER NOT NULL, sum_ms REAL NOT NULL, min_ms REAL NOT NULL, max_ms REAL NOT NULL,
     PRIMARY KEY (hour, name)
   ) WITHOUT ROWID;`,
  // v6: when a failed message was later processed after all (a dead letter replayed at the
  // connector and delivered to the hook). The failure stays in the record and the counters, but
  // leaves the recent failures; the index covers only the unresolved ones the summary lists.
  `ALTER TABLE items ADD COLUMN resolved_at INTEGER;
   DROP INDEX items_failures;
   CREATE INDEX items_failures ON items (finished_at)
     WHERE terminal IN ('failed', 'expired', 'shed', 'dead_lettered') AND resolved_at IS NULL;`,
  // v7: metrics are written into 5-minute buckets, and buckets older than 6 h are compacted into
  // hourly ones (session/metrics.ts), so the column holds the start of either. The hourly rows
  // from before read as compacted ones; for the 6 h after the upgrade, the 5-minute view shows
  // each such hour as one bucket at the hour's start (totals are unchanged).
  `ALTER TABLE metric_counters RENAME COLUMN hour TO period_start;
   ALTER TABLE metric_histograms RENAME COLUMN hour TO period_start;
   ALTER TABLE metric_latency_stats RENAME COLUMN hour TO period_start;`,
  // v8 (issue 18): the usage counter tables go. queue/capacity.ts sums the live items once a
  // session starts and keeps the totals in memory (status and the reconnect_ack ask it), so a
  // send and an ack no longer write them.
  `DROP TABLE lane_usage;
   DROP TABLE receipt_usage;
   DROP TABLE sender_usage;`,
  // v9 (issue 18): items_pending goes. It served one rare read (the oldest live item, for status
  // and the reconnect_ack), which OLDEST_LIVE_SQL answers from items_ready and items_inflight,
  // while every send inserted into it and every ack deleted from it (one more page per commit).
  `DROP INDEX items_pending;`,
  // v10 (issue 18): nonces in two tables by the parity of the window-long generation they were
  // stored in (access/nonces.ts), so none is swept one by one and none needs an expiry index. The
  // stored ones are carried over into the table of their generation (stored at expires_at minus
  // the window), and the latest such generation is recorded as the last one emptied, so no live
  // nonce is dropped and a replay is refused across the upgrade.
  `CREATE TABLE nonces_even (
     sender TEXT NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL,
     PRIMARY KEY (sender, nonce)
   ) WITHOUT ROWID;
   CREATE TABLE nonces_odd (
     sender TEXT NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL,
     PRIMARY KEY (sender, nonce)
   ) WITHOUT ROWID;
   INSERT INTO nonces_even SELECT sender, nonce, expires_at FROM nonces
     WHERE ((expires_at - ${NONCE_WINDOW_MS}) / ${NONCE_WINDOW_MS}) % 2 = 0;
   INSERT INTO nonces_odd SELECT sender, nonce, expires_at FROM nonces
     WHERE ((expires_at - ${NONCE_WINDOW_MS}) / ${NONCE_WINDOW_MS}) % 2 = 1;
   INSERT INTO meta (key, value)
     SELECT 'nonce_generation', CAST(MAX((expires_at - ${NONCE_WINDOW_MS}) / ${NONCE_WINDOW_MS}) AS TEXT) FROM nonces
     HAVING COUNT(*) > 0;
   DROP TABLE nonces;`,
] as const;
