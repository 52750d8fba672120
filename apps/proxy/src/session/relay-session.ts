import { DurableObject } from "cloudflare:workers";
import { type Outcome, type PolicyBody, type Receipt, RelayError, type SendAnswer } from "@clawrelay/protocol";
import { directoryRevocations } from "../auth/signed-request.js";
import { errorResponse } from "../errors.js";
import { log } from "../log.js";
import { wallClock } from "../platform/clock.js";
import { migrate } from "../platform/sql.js";
import type { Caller, SignedCaller } from "../types.js";
import { recipientState } from "./observation/recipient.js";
import { sessionStatus } from "./observation/session-status.js";
import type { SessionStatus } from "./observation/status.js";
import { type SessionOwners, wireOwners } from "./owners.js";
import type { SendInput } from "./queue/queue.js";
import { type MessageRecord, readMessageRecord } from "./queue/records.js";
import { SESSION_MIGRATIONS } from "./schema.js";
import { runDueWork } from "./time/due-work.js";
import { readHandoff } from "./upgrade-handoff.js";

export type { SendInput };

/**
 * One agent's relay session (PROTOCOL.md §5–7). The Worker authenticates and validates; this
 * object trusts only what the Worker passes it by RPC (and the one WebSocket upgrade `fetch`).
 * RPC methods return failures as data: a thrown error's class does not survive RPC.
 *
 * This class is the shell: each RPC call, socket event and alarm is one unit of work handed to
 * the owners (owners.ts wires them), after which the scheduler covers what is due next.
 */
export class RelaySession extends DurableObject<Env> {
  private readonly o: SessionOwners;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.o = wireOwners(ctx, env, { acceptOwn: (sender, receipt) => this.acceptReceipt(sender, receipt) });
    const { sql, admission, delivery, scheduler } = this.o;
    // `ping` is answered by the runtime without waking a hibernated session (PROTOCOL.md §6).
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    ctx.blockConcurrencyWhile(async () => {
      migrate(sql, SESSION_MIGRATIONS);
      await scheduler.load();
      // After a reset (not a hibernation) the sockets are gone: their in-flight items are not.
      if (admission.agentId) delivery.requeueOrphans(wallClock());
    });
  }

  // ---- RPC surface (called by the Worker after it authenticated the request) ----

  async status(agentId: string, caller: Caller): Promise<Outcome<SessionStatus>> {
    return this.guard(caller.correlationId, (now) => {
      this.o.admission.admit(agentId, caller, "self_or_admin", now);
      return this.readStatus(now);
    });
  }

  async register(agentId: string, correlationId: string): Promise<Outcome<SessionStatus>> {
    return this.guard(correlationId, (now) => {
      this.o.admission.bind(agentId);
      this.o.admission.markKnown(now);
      return this.readStatus(now);
    });
  }

  async putPolicy(agentId: string, caller: Caller, policy: PolicyBody): Promise<Outcome<PolicyBody>> {
    return this.guard(caller.correlationId, (now) => {
      this.o.admission.admit(agentId, caller, "self_or_admin", now);
      this.o.meta.setJson("policy", policy);
      return policy;
    });
  }

  async send(agentId: string, caller: SignedCaller, input: SendInput): Promise<Outcome<SendAnswer>> {
    return this.guard(caller.correlationId, (now) => {
      this.o.admission.admit(agentId, caller, "any_agent", now);
      if (!this.o.admission.known) throw new RelayError("unknown_recipient", "recipient unknown to this relay");
      const answer = this.o.queue.enqueueMessage(caller, input, now);
      if (!answer.duplicate) this.o.delivery.pump(now);
      return answer;
    });
  }

  async getMessage(agentId: string, caller: Caller, messageId: string): Promise<Outcome<MessageRecord>> {
    return this.guard(caller.correlationId, (now) => {
      if (caller.kind === "agent" && caller.agentId !== agentId) {
        const rate = { ratePerMinute: this.o.config.RELAY_RATE_PER_MINUTE, burst: this.o.config.RELAY_RATE_BURST };
        this.o.admission.admitPeerRead(agentId, caller, rate, now);
      } else this.o.admission.admit(agentId, caller, "any_agent", now);
      const record = readMessageRecord(this.o.sql, this.o.trace, agentId, caller, messageId);
      // Only while it waits: the sender learns the recipient's presence for its own pending message, no more.
      if (record.finishedAt !== null) return record;
      return { ...record, recipient: recipientState(this.o.sockets, this.o.meta, this.o.breaker, now) };
    });
  }

  /** A receipt for this agent as a sender, from another session of this relay. Idempotent by receiptId. */
  async acceptReceipt(agentId: string, receipt: Receipt): Promise<Outcome<{ stored: boolean }>> {
    return this.guard(receipt.correlationId, (now) => {
      this.o.admission.bind(agentId);
      const stored = this.o.queue.enqueueReceipt(receipt, now);
      if (stored) this.o.delivery.pump(now);
      return { stored };
    });
  }

  /**
   * A receipt from another relay (already verified by the Worker) for this agent as a sender.
   * Only for an agent known here and homed at `homeOrigin`; a receiptId seen before is a replay.
   */
  async acceptRemoteReceipt(agentId: string, receipt: Receipt, homeOrigin: string): Promise<Outcome<{ stored: true }>> {
    return this.guard(receipt.correlationId, (now) => {
      this.o.admission.bind(agentId);
      if (!this.o.admission.known || this.o.admission.homeRelay !== homeOrigin) {
        throw new RelayError("unknown_recipient", "the receipt's sender is not homed on this relay");
      }
      if (!this.o.queue.enqueueReceipt(receipt, now))
        throw new RelayError("idempotency_key_reused", "receipt already received");
      this.o.delivery.pump(now);
      return { stored: true as const };
    });
  }

  /** After an admin revoked this agent: close its connections at once with 4003. */
  async disconnectRevoked(agentId: string): Promise<Outcome<{ closed: number }>> {
    this.o.admission.bind(agentId);
    const closed = this.o.connections.closeAllForCredentials("credentials revoked", wallClock());
    this.settle(wallClock());
    return { ok: true, value: { closed } };
  }

  // ---- WebSocket (the one fetch: the upgrade the Worker already authenticated) ----

  override async fetch(request: Request): Promise<Response> {
    const handoff = readHandoff(request);
    if (!handoff) return errorResponse(new RelayError("invalid_request", "expected an upgrade from the Worker"), "");
    const { agentId, caller } = handoff;
    const now = wallClock();
    const admitted = this.guard(caller.correlationId, () => this.o.admission.admit(agentId, caller, "self", now));
    if (!admitted.ok) return errorResponse(RelayError.fromFailure(admitted), caller.correlationId);
    const { client, connectorId } = this.o.connections.accept(
      {
        connectorId: handoff.connectorId,
        jti: caller.jti,
        tokenExpiresAt: caller.tokenExpiresAt,
      },
      now,
    );
    // The handshake deadline of the new socket.
    this.settle(now);
    log("info", { event: "connector_connected", correlationId: caller.correlationId, agentId, connectorId });
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.safely("websocket_message", () => this.o.connections.message(ws, message, wallClock()));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.safely("websocket_close", () => {
      this.o.connections.closed(ws, wallClock());
      try {
        ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
      } catch {
        // Already closed.
      }
    });
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.safely("websocket_error", () => this.o.connections.closed(ws, wallClock()));
  }

  override async alarm(): Promise<void> {
    this.o.scheduler.fired();
    const now = wallClock();
    this.safely("alarm", () => runDueWork(this.o, now));
    await this.o.connections.closeRevoked(directoryRevocations(this.env), now);
    await this.o.outbox.flush();
    this.o.metrics.prune(wallClock());
    this.afterWork(wallClock());
  }

  // ---- internals ----

  private readStatus(now: number): SessionStatus {
    return sessionStatus(this.o, now);
  }

  private guard<T>(correlationId: string, body: (now: number) => T): Outcome<T> {
    try {
      const value = body(wallClock());
      this.afterWork(wallClock());
      return { ok: true, value };
    } catch (err) {
      if (err instanceof RelayError) return err.toFailure();
      log("error", {
        event: "session_error",
        correlationId,
        agentId: this.o.admission.agentId,
        error: err instanceof Error ? err.message : "unknown",
      });
      return new RelayError("internal", "internal error").toFailure();
    }
  }

  /** Socket and alarm handlers must never throw out: that would reset the session. */
  private safely(event: string, body: () => void): void {
    try {
      body();
    } catch (err) {
      log("error", {
        event: `${event}_failed`,
        agentId: this.o.admission.agentId,
        error: err instanceof Error ? err.message : "unknown",
      });
    }
    // A frame can change what the summary says (a health report): report it when due, as after
    // a request; the reporter is throttled, so frames add no more than one report per interval.
    this.afterWork(wallClock());
  }

  /**
   * After any unit of work: report metrics when due, then write what is held in memory when due
   * and make sure the alarm covers what is next.
   */
  private afterWork(now: number): void {
    try {
      this.o.reporter.maybeReport(now);
    } catch (err) {
      log("warn", {
        event: "metrics_summary_failed",
        agentId: this.o.admission.agentId,
        error: err instanceof Error ? err.message : "unknown",
      });
    }
    this.settle(now);
  }

  /** The counters and metrics this work left in memory get their deadline; the alarm covers it. */
  private settle(now: number): void {
    this.o.writeBehind.settled(now);
    this.o.scheduler.reschedule(now);
  }
}
