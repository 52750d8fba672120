import { RelayError } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { WrittenBehind } from "../write-behind.js";
import type { EffectiveRule } from "./policy.js";

/** The two token buckets of a session: sends per sender, and reads of this session by other agents. */
const BUCKET_TABLES = { send: "rate_buckets", read: "read_buckets" } as const;
const REFUSED = { send: "too many messages to this recipient", read: "too many reads of this agent's session" };

/** Senders whose send bucket is kept in memory; one that falls out is read from its table again. */
const CACHED_BUCKETS = 4096;

export type BucketKind = keyof typeof BUCKET_TABLES;
type Rate = Pick<EffectiveRule, "ratePerMinute" | "burst">;

interface Bucket {
  tokens: number;
  updated_at: number;
}

/** The bucket refilled up to `now`; refuses with 429 (Retry-After in whole seconds) under one token. */
function refill(bucket: Bucket | null, rule: Rate, now: number, kind: BucketKind): number {
  const perMs = rule.ratePerMinute / 60_000;
  const elapsed = bucket ? Math.max(0, now - bucket.updated_at) : 0;
  const tokens = Math.min(rule.burst, bucket ? bucket.tokens + elapsed * perMs : rule.burst);
  if (tokens < 1) {
    const waitMs = (1 - tokens) / perMs;
    throw new RelayError("rate_limited", REFUSED[kind], { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
  }
  return tokens - 1;
}

function readBucket(sql: Sql, kind: BucketKind, sender: string): Bucket | null {
  return sql.one<{ tokens: number; updated_at: number }>(
    `SELECT tokens, updated_at FROM ${BUCKET_TABLES[kind]} WHERE sender = ?`,
    sender,
  );
}

function writeBucket(sql: Sql, kind: BucketKind, sender: string, bucket: Bucket): void {
  sql.run(
    `INSERT INTO ${BUCKET_TABLES[kind]} (sender, tokens, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (sender) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
    sender,
    bucket.tokens,
    bucket.updated_at,
  );
}

/**
 * Token bucket per (caller → this session): `burst` tokens, refilled at `ratePerMinute`.
 * Refused calls answer 429 with `Retry-After` in whole seconds until the next token.
 * Reads its row and writes it back: the peer-read bucket, off the message path (the send bucket
 * is SendBuckets', which keeps a copy and must be the only writer of its table).
 */
export function takeToken(sql: Sql, sender: string, rule: Rate, now: number, kind: Exclude<BucketKind, "send">): void {
  const tokens = refill(readBucket(sql, kind, sender), rule, now, kind);
  writeBucket(sql, kind, sender, { tokens, updated_at: now });
}

/** Rows per upsert of the send buckets: three bound values each, under 100 per statement. */
const BUCKETS_PER_STATEMENT = 30;

/**
 * The send buckets, kept in memory and written behind (session/write-behind.ts; issue 18: a send
 * read its bucket and wrote it, two statements of the message path). A sender's bucket is read
 * from its table once; what sends change is written at the flush, one row per sender however
 * many sends it made. This is the table's only writer, so the copy cannot go stale; the table
 * stays the truth a restarted session reads again.
 *
 * An eviction without warning (a deploy, a crash) loses at most METRICS_FLUSH_AFTER_MS (5 s) of
 * a bucket's spending: after a restart a sender may send up to that much more than its rate.
 * That is acceptable for a rate limit; what protects a message — the nonce (replay protection),
 * the item and its receipts — is still written at once.
 *
 * Bounded: the least recently used sender leaves the map beyond CACHED_BUCKETS, so many senders
 * cost memory of a few. A bucket whose write is pending stays in `unwritten` until the flush
 * (which a sender evicted and back before it reads too), so eviction loses no spending.
 */
export class SendBuckets implements WrittenBehind {
  private readonly buckets = new Map<string, Bucket>();
  /** Buckets changed since the last flush, by sender. */
  private readonly unwritten = new Map<string, Bucket>();

  constructor(
    private readonly sql: Sql,
    private readonly capacity = CACHED_BUCKETS,
  ) {}

  take(sender: string, rule: Rate, now: number): void {
    const bucket = this.buckets.get(sender) ?? this.unwritten.get(sender) ?? readBucket(this.sql, "send", sender);
    const tokens = refill(bucket, rule, now, "send");
    const next = { tokens, updated_at: now };
    this.unwritten.set(sender, next);
    // Re-inserted last: a Map iterates in insertion order, so the first key is the least recent.
    this.buckets.delete(sender);
    this.buckets.set(sender, next);
    if (this.buckets.size > this.capacity) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }

  hasPending(): boolean {
    return this.unwritten.size > 0;
  }

  /** Writes the changed buckets, 30 rows an upsert; each leaves `unwritten` once written. */
  flush(): void {
    const rows = [...this.unwritten];
    for (let start = 0; start < rows.length; start += BUCKETS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + BUCKETS_PER_STATEMENT);
      const values: (string | number)[] = [];
      for (const [sender, { tokens, updated_at }] of chunk) values.push(sender, tokens, updated_at);
      this.sql.run(
        `INSERT INTO ${BUCKET_TABLES.send} (sender, tokens, updated_at) VALUES ${chunk.map(() => "(?, ?, ?)").join(", ")}
         ON CONFLICT (sender) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
        ...values,
      );
      for (const [sender] of chunk) this.unwritten.delete(sender);
    }
  }

  /** How many senders are held in memory (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }
}
