import { DurableObject } from "cloudflare:workers";
import { type Outcome, type PolicyBody, type Receipt, RelayError, type SendAnswer } from "@clawrelay/protocol";
import { ulid } from "ulid";
import { directoryRevocations } from "../auth/signed-request.js";
import { type RelayConfig, relayConfig } from "../config.js";
import { log } from "../log.js";
import { postRemoteReceipt } from "../receipts/courier.js";
import type { Caller, SignedCaller } from "../types.js";
import { Admission } from "./admission.js";
import { nextWake, runAlarm } from "./alarm.js";
import { DeliveryBreaker } from "./breaker.js";
import { Capacity } from "./capacity.js";
import { ConnectionHandler } from "./connection.js";
import type { SessionContext } from "./context.js";
import { Delivery } from "./delivery.js";
import { DestinationBreakers } from "./destination-breakers.js";
import { Meta } from "./meta.js";
import { metricsView, SessionMetrics } from "./metrics.js";
import { enqueueMessage, enqueueReceipt, type SendInput } from "./queue.js";
import { flushReceiptOutbox, type ReceiptCourier } from "./receipt-outbox.js";
import { type MessageRecord, readMessageRecord, recipientState } from "./records.js";
import { SummaryReporter } from "./report.js";
import { SESSION_MIGRATIONS } from "./schema.js";
import { type SocketAttachment, Sockets } from "./sockets.js";
import { migrate, Sql } from "./sql.js";
import { readStatus, type SessionStatus } from "./status.js";

export type { SendInput };

/**
 * One agent's relay session (PROTOCOL.md §5–7). The Worker authenticates and validates; this
 * object trusts only what the Worker passes it by RPC (and the one WebSocket upgrade `fetch`).
 * RPC methods return failures as data: a thrown error's class does not survive RPC.
 */
export class RelaySession extends DurableObject<Env> {
  private readonly sql: Sql;
  private readonly meta: Meta;
  private readonly metrics: SessionMetrics;
  private readonly reporter: SummaryReporter;
  private readonly config: RelayConfig;
  private readonly admission: Admission;
  private readonly sockets: Sockets;
  private readonly breaker: DeliveryBreaker;
  private readonly destinationBreakers: DestinationBreakers;
  private readonly delivery: Delivery;
  private readonly connections: ConnectionHandler;
  private readonly session: SessionContext;
  /** The alarm time as last set or read; undefined until read at startup. */
  private scheduledAlarm: number | null = null;
  private flushing: Promise<void> | null = null;
  /** The session's clock. Tests advance it through `runInDurableObject`; nothing else changes it. */
  clock: () => number = () => Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = new Sql(ctx.storage.sql);
    this.meta = new Meta(this.sql);
    this.metrics = new SessionMetrics(this.sql);
    this.config = relayConfig(env);
    this.admission = new Admission(this.sql, this.meta);
    this.sockets = new Sockets(ctx, () => this.clock() - Date.now());
    this.breaker = new DeliveryBreaker(this.meta);
    this.destinationBreakers = new DestinationBreakers(this.meta, this.config.RELAY_RECEIPT_BREAKER_OPEN_MS);
    this.session = {
      sql: this.sql,
      meta: this.meta,
      config: this.config,
      capacity: new Capacity(this.sql, this.config),
      metrics: this.metrics,
      state: ctx,
      env,
      agentId: () => this.admission.agentId,
      wakeAt: (at) => this.wakeAt(at),
      flushReceipts: () => {
        // Fire and forget: the outbox row is committed; the alarm retries whatever fails here.
        this.flushReceipts().catch((err: unknown) =>
          log("error", {
            event: "receipt_flush_failed",
            agentId: this.admission.agentId,
            error: err instanceof Error ? err.message : "unknown",
          }),
        );
      },
    };
    this.delivery = new Delivery(this.session, this.sockets, this.breaker);
    this.connections = new ConnectionHandler(this.session, this.sockets, this.delivery, this.breaker);
    this.reporter = new SummaryReporter(this.session, this.sockets, (now, hours) => this.readStatus(now, hours));
    // `ping` is answered by the runtime without waking a hibernated session (PROTOCOL.md §6).
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql, SESSION_MIGRATIONS);
      this.scheduledAlarm = await ctx.storage.getAlarm();
      // After a reset (not a hibernation) the sockets are gone: their in-flight items are not.
      if (this.admission.agentId) this.delivery.requeueOrphans(this.clock());
    });
  }

  // ---- RPC surface (called by the Worker after it authenticated the request) ----

  async status(agentId: string, caller: Caller): Promise<Outcome<SessionStatus>> {
    return this.guard(caller.correlationId, (now) => {
      this.admission.admit(agentId, caller, "self_or_admin", now);
      return this.readStatus(now);
    });
  }

  async register(agentId: string, correlationId: string): Promise<Outcome<SessionStatus>> {
    return this.guard(correlationId, (now) => {
      this.admission.bind(agentId);
      this.admission.markKnown(now);
      return this.readStatus(now);
    });
  }

  async putPolicy(agentId: string, caller: Caller, policy: PolicyBody): Promise<Outcome<PolicyBody>> {
    return this.guard(caller.correlationId, (now) => {
      this.admission.admit(agentId, caller, "self_or_admin", now);
      this.meta.setJson("policy", policy);
      return policy;
    });
  }

  async send(agentId: string, caller: SignedCaller, input: SendInput): Promise<Outcome<SendAnswer>> {
    return this.guard(caller.correlationId, (now) => {
      this.admission.admit(agentId, caller, "any_agent", now);
      if (!this.admission.known) throw new RelayError("unknown_recipient", "recipient unknown to this relay");
      const answer = enqueueMessage(this.session, caller, input, now);
      if (!answer.duplicate) this.delivery.pump(now);
      return answer;
    });
  }

  async getMessage(agentId: string, caller: Caller, messageId: string): Promise<Outcome<MessageRecord>> {
    return this.guard(caller.correlationId, (now) => {
      if (caller.kind === "agent" && caller.agentId !== agentId) {
        const rate = { ratePerMinute: this.config.RELAY_RATE_PER_MINUTE, burst: this.config.RELAY_RATE_BURST };
        this.admission.admitPeerRead(agentId, caller, rate, now);
      } else this.admission.admit(agentId, caller, "any_agent", now);
      const record = readMessageRecord(this.sql, agentId, caller, messageId);
      // Only while it waits: the sender learns the recipient's presence for its own pending message, no more.
      if (record.finishedAt !== null) return record;
      return { ...record, recipient: recipientState(this.sockets, this.meta, this.breaker, now) };
    });
  }

  /** A receipt for this agent as a sender, from another session of this relay. Idempotent by receiptId. */
  async acceptReceipt(agentId: string, receipt: Receipt): Promise<Outcome<{ stored: boolean }>> {
    return this.guard(receipt.correlationId, (now) => {
      this.admission.bind(agentId);
      const stored = enqueueReceipt(this.session, receipt, now);
      if (stored) this.delivery.pump(now);
      return { stored };
    });
  }

  /**
   * A receipt from another relay (already verified by the Worker) for this agent as a sender.
   * Only for an agent known here and homed at `homeOrigin`; a receiptId seen before is a replay.
   */
  async acceptRemoteReceipt(agentId: string, receipt: Receipt, homeOrigin: string): Promise<Outcome<{ stored: true }>> {
    return this.guard(receipt.correlationId, (now) => {
      this.admission.bind(agentId);
      if (!this.admission.known || this.admission.homeRelay !== homeOrigin) {
        throw new RelayError("unknown_recipient", "the receipt's sender is not homed on this relay");
      }
      if (!enqueueReceipt(this.session, receipt, now))
        throw new RelayError("idempotency_key_reused", "receipt already received");
      this.delivery.pump(now);
      return { stored: true as const };
    });
  }

  /** After an admin revoked this agent: close its connections at once with 4003. */
  async disconnectRevoked(agentId: string): Promise<Outcome<{ closed: number }>> {
    this.admission.bind(agentId);
    const closed = this.connections.closeAllForCredentials("credentials revoked", this.clock());
    this.reschedule(this.clock());
    return { ok: true, value: { closed } };
  }

  // ---- WebSocket (the one fetch: the upgrade the Worker already authenticated) ----

  override async fetch(request: Request): Promise<Response> {
    const agentId = request.headers.get("x-relay-agent-id") ?? "";
    const caller = JSON.parse(request.headers.get("x-relay-caller") ?? "null") as SignedCaller | null;
    if (!caller || request.headers.get("upgrade") !== "websocket") {
      return Response.json(
        { error: { code: "invalid_request", message: "expected an upgrade from the Worker", correlationId: "" } },
        { status: 400 },
      );
    }
    const now = this.clock();
    const admitted = this.guard(caller.correlationId, () => this.admission.admit(agentId, caller, "self", now));
    if (!admitted.ok) {
      return Response.json(
        { error: { code: admitted.code, message: admitted.message, correlationId: caller.correlationId } },
        {
          status: RelayError.fromFailure(admitted).status,
        },
      );
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const connectorId = request.headers.get("x-relay-connector-id") || `anon-${ulid(now)}`;
    this.ctx.acceptWebSocket(server, [connectorId.slice(0, 200)]);
    const attachment: SocketAttachment = {
      connectionId: ulid(now),
      connectorId,
      jti: caller.jti,
      tokenExpiresAt: caller.tokenExpiresAt,
      role: "pending",
      connectedAt: now,
      roleSince: now,
      invalidAt: [],
    };
    server.serializeAttachment(attachment);
    this.wakeAt(now + 10_000);
    log("info", { event: "connector_connected", correlationId: caller.correlationId, agentId, connectorId });
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.safely("websocket_message", () => this.connections.message(ws, message, this.clock()));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.safely("websocket_close", () => {
      this.connections.closed(ws, this.clock());
      try {
        ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
      } catch {
        // Already closed.
      }
    });
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.safely("websocket_error", () => this.connections.closed(ws, this.clock()));
  }

  override async alarm(): Promise<void> {
    this.scheduledAlarm = null;
    const now = this.clock();
    this.safely("alarm", () => runAlarm(this.session, this.delivery, this.connections, now));
    await this.connections.closeRevoked(directoryRevocations(this.env), now);
    await this.flushReceipts();
    this.metrics.prune(this.clock());
    this.afterWork(this.clock());
  }

  // ---- internals ----

  private readStatus(now: number, hours = this.metrics.hours(now)): SessionStatus {
    return readStatus(
      {
        sql: this.sql,
        meta: this.meta,
        agentId: this.admission.agentId,
        known: this.admission.known,
        sockets: this.sockets.status(),
        breaker: this.breaker.status(now),
        receiptBreakers: this.destinationBreakers.status(now),
        counters: this.counters(),
        metrics: metricsView(
          hours,
          now,
          this.meta.get("known_since") === null ? null : this.meta.getNumber("known_since", now),
        ),
      },
      now,
    );
  }

  private counters(): Record<string, number> {
    const names = ["received", "sent", "acked", "nacked", "ack_timeouts", "expired", "shed"];
    return Object.fromEntries(names.map((n) => [n, this.meta.getNumber(`count_${n}`, 0)]));
  }

  private guard<T>(correlationId: string, body: (now: number) => T): Outcome<T> {
    try {
      const value = body(this.clock());
      this.afterWork(this.clock());
      return { ok: true, value };
    } catch (err) {
      if (err instanceof RelayError) return err.toFailure();
      log("error", {
        event: "session_error",
        correlationId,
        agentId: this.admission.agentId,
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
        agentId: this.admission.agentId,
        error: err instanceof Error ? err.message : "unknown",
      });
    }
    // A frame can change what the summary says (a health report): report it when due, as after
    // a request; the reporter is throttled, so frames add no more than one report per interval.
    this.afterWork(this.clock());
  }

  /** After any unit of work: report metrics when due, then make sure the alarm covers what is next. */
  private afterWork(now: number): void {
    try {
      this.reporter.maybeReport(now);
    } catch (err) {
      log("warn", {
        event: "metrics_summary_failed",
        agentId: this.admission.agentId,
        error: err instanceof Error ? err.message : "unknown",
      });
    }
    this.reschedule(now);
  }

  private wakeAt(at: number): void {
    // Never at or before now: workerd drops an alarm set to the current time from inside alarm()
    // once the handler returns (workerd#6866), and the session would wait for it forever.
    const target = Math.max(at, this.clock() + 1);
    if (this.scheduledAlarm !== null && this.scheduledAlarm <= target) return;
    this.scheduledAlarm = target;
    void this.ctx.storage.setAlarm(target);
  }

  private reschedule(now: number): void {
    const next = nextWake(this.session, this.breaker, this.connections.sweepDeadline(), this.sockets.active() !== null);
    if (next !== null) this.wakeAt(Math.max(next, now));
  }

  private flushReceipts(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = flushReceiptOutbox(this.session, this.courier, this.destinationBreakers, this.clock).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private readonly courier: ReceiptCourier = async (destination, sender, receipt) => {
    if (destination !== "local") return postRemoteReceipt(this.config, destination, sender, receipt);
    const outcome =
      sender === this.admission.agentId
        ? await this.acceptReceipt(sender, receipt)
        : await this.env.RELAY_SESSION.get(this.env.RELAY_SESSION.idFromName(sender)).acceptReceipt(sender, receipt);
    if (!outcome.ok) throw new Error(outcome.code);
  };
}
