import { PROTOCOL_LIMITS, RelayError } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { Meta } from "../storage/meta.js";

const NONCE_WINDOW_MS = PROTOCOL_LIMITS.nonceWindowSeconds * 1000;

/** The two nonce tables, by the parity of the window-long generation a nonce was stored in. */
export const NONCE_TABLES = ["nonces_even", "nonces_odd"] as const;

/** The table the nonces of `generation` go into. */
export function nonceTableOf(generation: number): (typeof NONCE_TABLES)[number] {
  return generation % 2 === 0 ? "nonces_even" : "nonces_odd";
}

/** The generation (a window-long span of time) a nonce stored at `now` belongs to. */
export function nonceGeneration(now: number): number {
  return Math.floor(now / NONCE_WINDOW_MS);
}

/**
 * The nonces this session has seen within the replay window (PROTOCOL.md §3, step 7), the only
 * owner of the two nonce tables and of the `nonce_generation` meta key.
 *
 * A nonce goes into the table of its generation's parity, and is checked against both. When a
 * new generation starts, the table it writes to is emptied first, in one statement: it holds
 * only nonces stored two or more generations ago, all past their window (stored before the last
 * generation began, so expired by the time this one begins). So nothing is swept nonce by nonce
 * (issue 18: each nonce used to cost an index entry for its expiry and a delete of both later);
 * the price is up to two windows of nonces on disk instead of one, bounded by the same rate limits.
 *
 * `nonce_generation` (the latest generation that emptied its table) is written at once, with the
 * emptying, in the same implicit transaction: a restart can never empty a table twice in one
 * generation. The clock only moves the generation forward; a clock that steps back writes into
 * the table of an older generation, whose rows are still checked, and is at worst stricter.
 */
export class NonceWindow {
  private generation: number | null | undefined = undefined;

  constructor(
    private readonly sql: Sql,
    private readonly meta: Meta,
  ) {}

  /** Stores the nonce, or throws `replayed_nonce` when it was stored within the window. */
  consume(sender: string, nonce: string, now: number): void {
    const generation = nonceGeneration(now);
    this.rotate(generation);
    const current = nonceTableOf(generation);
    const other = nonceTableOf(generation + 1);
    // One statement decides: a nonce live in either table writes nothing and is a replay; an
    // expired one may be used again. The current table's rows are live once it was emptied in
    // this generation; the rows a migration carried over (schema v10) may not be, hence the
    // expiry check on a conflict too.
    const written = this.sql.run(
      `INSERT INTO ${current} (sender, nonce, expires_at) SELECT ?1, ?2, ?3
       WHERE NOT EXISTS (SELECT 1 FROM ${other} WHERE sender = ?1 AND nonce = ?2 AND expires_at >= ?4)
       ON CONFLICT (sender, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE ${current}.expires_at < ?4`,
      sender,
      nonce,
      now + NONCE_WINDOW_MS,
      now,
    );
    if (written === 0) throw new RelayError("replayed_nonce", "nonce already used");
  }

  /** A later generation than any before: its table is emptied (see the class comment). */
  private rotate(generation: number): void {
    if (this.generation === undefined) {
      const stored = this.meta.get("nonce_generation");
      this.generation = stored === null ? null : Number(stored);
    }
    if (this.generation !== null && generation <= this.generation) return;
    this.sql.run(`DELETE FROM ${nonceTableOf(generation)}`);
    this.meta.set("nonce_generation", generation);
    this.generation = generation;
  }
}
