import { RelayError, type SendAnswer } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";

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

/** Drop expired keys, a batch at a time (the alarm's sweep). */
export function sweepIdempotency(sql: Sql, now: number): void {
  sql.run(
    "DELETE FROM idempotency WHERE (sender, key) IN (SELECT sender, key FROM idempotency WHERE expires_at <= ? LIMIT 500)",
    now,
  );
}
