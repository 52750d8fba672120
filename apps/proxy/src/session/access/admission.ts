import { RelayError } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { Caller, SignedCaller } from "../../types.js";
import type { EffectiveRule } from "../queue/policy.js";
import { takeToken } from "../queue/rate-limit.js";
import type { Meta } from "../storage/meta.js";
import { NonceWindow } from "./nonces.js";

export type Access = "self" | "self_or_admin" | "any_agent";

/**
 * Nonce, then authorization: steps 7 and 8 of PROTOCOL.md §3, kept in the session the path
 * addresses so that two racing requests with one nonce see one winner (the DO is single-threaded
 * and this runs without awaiting).
 */
export class Admission {
  private readonly nonces: NonceWindow;

  constructor(
    private readonly sql: Sql,
    private readonly meta: Meta,
  ) {
    this.nonces = new NonceWindow(sql, meta);
  }

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
    this.nonces.consume(sender, nonce, now);
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
