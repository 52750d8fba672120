import { RelayError } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { EffectiveRule } from "./policy.js";

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
