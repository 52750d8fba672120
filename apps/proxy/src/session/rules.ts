import { type PeerRule, type PolicyBody, RelayError, type SendAnswer } from "@clawrelay/protocol";
import type { RelayConfig } from "../config.js";
import type { Meta } from "./meta.js";
import type { Sql } from "./sql.js";

export interface EffectiveRule {
  allow: boolean;
  ratePerMinute: number;
  burst: number;
  senderShare: number;
  ttlSeconds: number | null;
}

/** Per-peer policy (PROTOCOL.md §5): a peer's own rule over the policy defaults over the relay vars. */
export function effectiveRule(meta: Meta, config: RelayConfig, sender: string): EffectiveRule {
  const policy = meta.getJson<PolicyBody>("policy");
  const rule: PeerRule = { ...(policy?.defaults ?? {}), ...(policy?.peers?.[sender] ?? {}) };
  return {
    allow: rule.allow ?? true,
    ratePerMinute: rule.ratePerMinute ?? config.RELAY_RATE_PER_MINUTE,
    burst: rule.burst ?? config.RELAY_RATE_BURST,
    senderShare: rule.senderShare ?? config.RELAY_SENDER_SHARE,
    ttlSeconds: rule.ttlSeconds ?? null,
  };
}

/** The two token buckets of a session: sends per sender, and reads of this session by other agents. */
const BUCKET_TABLES = { send: "rate_buckets", read: "read_buckets" } as const;
const REFUSED = { send: "too many messages to this recipient", read: "too many reads of this agent's session" };

/**
 * Token bucket per (caller → this session): `burst` tokens, refilled at `ratePerMinute`.
 * Refused calls answer 429 with `Retry-After` in whole seconds until the next token.
 */
export function takeToken(
  sql: Sql,
  sender: string,
  rule: Pick<EffectiveRule, "ratePerMinute" | "burst">,
  now: number,
  bucket: keyof typeof BUCKET_TABLES = "send",
): void {
  const table = BUCKET_TABLES[bucket];
  const perMs = rule.ratePerMinute / 60_000;
  const row = sql.one<{ tokens: number; updated_at: number }>(
    `SELECT tokens, updated_at FROM ${table} WHERE sender = ?`,
    sender,
  );
  const elapsed = row ? Math.max(0, now - row.updated_at) : 0;
  const tokens = Math.min(rule.burst, row ? row.tokens + elapsed * perMs : rule.burst);
  if (tokens < 1) {
    const waitMs = (1 - tokens) / perMs;
    throw new RelayError("rate_limited", REFUSED[bucket], {
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    });
  }
  sql.run(
    `INSERT INTO ${table} (sender, tokens, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (sender) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at`,
    sender,
    tokens - 1,
    now,
  );
}

/**
 * Idempotency, scope (sender, this recipient, key), kept RELAY_IDEMPOTENCY_SECONDS. Same key
 * and digest: the original answer with `duplicate: true`. Same key, another digest: 409.
 */
export function findIdempotent(sql: Sql, sender: string, key: string, digest: string, now: number): SendAnswer | null {
  const row = sql.one<{ digest: string; answer: string; expires_at: number }>(
    "SELECT digest, answer, expires_at FROM idempotency WHERE sender = ? AND key = ?",
    sender,
    key,
  );
  if (!row || row.expires_at <= now) return null;
  if (row.digest !== digest)
    throw new RelayError("idempotency_key_reused", "idempotency key already used with another body");
  return { ...(JSON.parse(row.answer) as SendAnswer), duplicate: true };
}

export function rememberIdempotent(
  sql: Sql,
  sender: string,
  key: string,
  digest: string,
  answer: SendAnswer,
  expiresAt: number,
): void {
  sql.run(
    `INSERT INTO idempotency (sender, key, digest, answer, expires_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (sender, key) DO UPDATE SET digest = excluded.digest, answer = excluded.answer, expires_at = excluded.expires_at`,
    sender,
    key,
    digest,
    JSON.stringify(answer),
    expiresAt,
  );
}
