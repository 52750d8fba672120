import { PROTOCOL_LIMITS, RelayError } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { Caller, SignedCaller } from "../../types.js";
import type { EffectiveRule } from "../queue/policy.js";
import { takeToken } from "../queue/rate-limit.js";
import type { Meta } from "../storage/meta.js";

const NONCE_WINDOW_MS = PROTOCOL_LIMITS.nonceWindowSeconds * 1000;
/** Expired nonces are swept a few at a time before an insert, so the table never needs a full scan. */
const NONCE_SWEEP_BATCH = 32;
/** After a sweep that left nothing expired, the next one waits this long (requests keep coming). */
const NONCE_SWEEP_INTERVAL_MS = 1000;

export type Access = "self" | "self_or_admin" | "any_agent";

/**
 * Nonce, then authorization: steps 7 and 8 of PROTOCOL.md §3, kept in the session the path
 * addresses so that two racing requests with one nonce see one winner (the DO is single-threaded
 * and this runs without awaiting).
 */
export class Admission {
  /**
   * No nonce row expires before this (a lower bound; null: the table is empty, undefined: not read
   * yet). This is the table's only writer: inserts lower it, the sweep reads it again.
   */
  private oldestNonce: number | null | undefined = undefined;
  /** The last sweep took a full batch: more may be expired. */
  private nonceBacklog = false;
  private noncesClearedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sql: Sql,
    private readonly meta: Meta,
  ) {}

  /** Binds the session to its agent id on first use and refuses a mismatch (a routing bug). */
  bind(agentId: string): void {
    const bound = this.meta.get("agent_id");
    if (bound === null) this.meta.set("agent_id", agentId);
    else if (bound !== agentId) throw new RelayError("internal", "session addressed under another agent id");
  }

  get agentId(): string {
    return this.meta.get("agent_id") ?? "";
  }

  get homeRelay(): string | null {
    return this.meta.get("home_relay");
  }

  get known(): boolean {
    return this.meta.get("known") === "1";
  }

  markKnown(now: number): void {
    if (!this.known) {
      this.meta.set("known", "1");
      this.meta.set("known_since", now);
    }
  }

  consumeNonce(sender: string, nonce: string, now: number): void {
    this.sweepNonces(now);
    // One statement decides: a new nonce is inserted, an expired one is taken over, a live one
    // writes nothing and is a replay. The sweep is only housekeeping: the replay rule is here.
    const expiresAt = now + NONCE_WINDOW_MS;
    const written = this.sql.run(
      `INSERT INTO nonces (sender, nonce, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (sender, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE nonces.expires_at < ?`,
      sender,
      nonce,
      expiresAt,
      now,
    );
    if (written === 0) throw new RelayError("replayed_nonce", "nonce already used");
    if (this.oldestNonce === null || this.oldestNonce === undefined || expiresAt < this.oldestNonce) {
      this.oldestNonce = expiresAt;
    }
  }

  /**
   * Delete expired nonces, only when one can be expired. Table size stays bounded as when every
   * insert swept: while sweeps take full batches, each request sweeps again (a backlog shrinks by
   * 31 rows a request, as before); otherwise at most once a second, so what is left expired is at
   * most the nonces that expired within the last second — nonces stored in one second, 600 s ago,
   * bounded by the same rate limits as the live ones.
   */
  private sweepNonces(now: number): void {
    if (this.oldestNonce === undefined) this.oldestNonce = this.readOldestNonce();
    if (this.oldestNonce === null || this.oldestNonce >= now) return;
    const recent = now >= this.noncesClearedAt && now < this.noncesClearedAt + NONCE_SWEEP_INTERVAL_MS;
    if (!this.nonceBacklog && recent) return;
    // At most NONCE_SWEEP_BATCH expired rows: those strictly older than the batch+1-th oldest
    // expiry. A plain range delete on the expiry index; `(sender, nonce) IN (SELECT … LIMIT n)`
    // cost ~30 times more per request, even with nothing to delete.
    const deleted = this.sql.all(
      `DELETE FROM nonces WHERE expires_at < ?
         AND expires_at < COALESCE((SELECT expires_at FROM nonces ORDER BY expires_at LIMIT 1 OFFSET ?), ?)
       RETURNING 1 AS gone`,
      now,
      NONCE_SWEEP_BATCH,
      now,
    ).length;
    this.nonceBacklog = deleted >= NONCE_SWEEP_BATCH;
    if (this.nonceBacklog) return;
    this.noncesClearedAt = now;
    this.oldestNonce = this.readOldestNonce();
  }

  private readOldestNonce(): number | null {
    return this.sql.one<{ oldest: number | null }>("SELECT MIN(expires_at) AS oldest FROM nonces")?.oldest ?? null;
  }

  /**
   * Another agent reading this session (a sender reading its message's record): nothing here is
   * the caller's, so it writes as little as it can. A session that was never known holds no
   * message and answers not_found with nothing stored; otherwise the caller takes a token from
   * its read bucket (`rate`) before its nonce is stored, so a reader cannot fill this session with
   * nonce rows. Nonce before authorization still holds: the record check comes after.
   */
  admitPeerRead(
    agentId: string,
    caller: SignedCaller,
    rate: Pick<EffectiveRule, "ratePerMinute" | "burst">,
    now: number,
  ): void {
    const bound = this.meta.get("agent_id");
    if (bound !== null && bound !== agentId)
      throw new RelayError("internal", "session addressed under another agent id");
    if (!this.known) throw new RelayError("not_found", "no such message (records are kept 24 h after a message ends)");
    takeToken(this.sql, caller.agentId, rate, now, "read");
    this.consumeNonce(caller.agentId, caller.nonce, now);
  }

  /**
   * Admit a caller: consume its nonce (agents only), mark the agent known when it addresses its
   * own session, then check who may call. Throws a RelayError.
   */
  admit(agentId: string, caller: Caller, access: Access, now: number): void {
    this.bind(agentId);
    if (caller.kind === "admin") {
      if (access === "self") throw new RelayError("not_owner", "only the agent itself may do this");
      return;
    }
    this.consumeNonce(caller.agentId, caller.nonce, now);
    const isSelf = caller.agentId === agentId;
    if (isSelf) {
      this.markKnown(now);
      // Where this agent is homed, from its own signed token: receipts from other relays are
      // accepted only for agents homed here.
      this.meta.set("home_relay", caller.relay);
    }
    if (access !== "any_agent" && !isSelf)
      throw new RelayError("not_owner", "only the agent itself (or an admin) may do this");
  }
}
