import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import {
  CLOSE_CODES,
  type ConnectorFrame,
  type DeliverItem,
  HEADERS,
  PROTOCOL_LIMITS,
  type RelayFrame,
} from "@clawrelay/protocol";
import WebSocket from "ws";
import type { TimerHandle } from "./clock.js";
import { AckCoalescer, DeliverCoalescer } from "./deliver-coalescer.js";
import {
  chunkIds,
  connectUrl,
  encode,
  readIncoming,
  readUpgradeRejection,
  type UpgradeRejection,
} from "./link-frames.js";
import { Heartbeat, ReconnectPolicy } from "./link-policy.js";
import type { DeliverOutcome, LinkEvents, LinkOptions, LinkState, LinkStatus, Role } from "./link-types.js";

export type { DeliverOutcome, LinkEvents, LinkOptions, LinkState, LinkStatus, LinkTiming, Role } from "./link-types.js";

type TimerName = "reconnect" | "handshake";

interface Attempt {
  socket: WebSocket;
  relayUrl: string;
  rejection: UpgradeRejection | null;
  heartbeat: Heartbeat;
  deliveries: DeliverCoalescer;
  acks: AckCoalescer;
}

/**
 * The one WebSocket to the home relay (PROTOCOL.md §6, §8): signed upgrade, `reconnect`
 * handshake, heartbeat, full-jitter reconnects across the configured relay URLs.
 */
export class RelayLink extends EventEmitter<LinkEvents> {
  private state: LinkState = "idle";
  private role: Role | null = null;
  private current: Attempt | null = null;
  private readonly policy: ReconnectPolicy;
  private mode: "auto" | "takeover";
  private connectedAt: number | null = null;
  private sessionId: string | null = null;
  private lastError: string | null = null;
  private readonly timers: Record<TimerName, TimerHandle | null> = { reconnect: null, handshake: null };

  constructor(private readonly options: LinkOptions) {
    super();
    this.policy = new ReconnectPolicy(options.relayUrls, options.timing, options.clock, options.random);
    this.mode = options.takeover ? "takeover" : "auto";
  }

  start(): void {
    if (this.state !== "idle") return;
    void this.connect();
  }

  status(): LinkStatus {
    return {
      state: this.state,
      role: this.role,
      relayUrl: this.current?.relayUrl ?? null,
      sessionId: this.sessionId,
      connectedSince: this.state === "connected" ? this.connectedAt : null,
      reconnectAttempt: this.policy.attempt,
      lastError: this.lastError,
    };
  }

  /** The relay URL of the live session, for HTTP calls that should go where the socket goes. */
  connectedRelayUrl(): string | null {
    return this.state === "connected" ? (this.current?.relayUrl ?? null) : null;
  }

  /** Send a frame on the live session; false when there is none (the caller keeps it for later). */
  send(frame: ConnectorFrame): boolean {
    const socket = this.current?.socket;
    if (this.state !== "connected" || !socket || socket.readyState !== WebSocket.OPEN) return false;
    // Acks that wait go first: the relay must hear an item was stored before it was processed.
    this.current?.acks.flush();
    socket.send(encode(frame, this.options.onAckSent));
    return true;
  }

  /** Close with 1000 and never reconnect. Resolves once the socket is gone (bounded wait). */
  async stop(closeTimeoutMs = 2_000): Promise<void> {
    if (this.state === "closed") return;
    this.setState("closed");
    this.cancelTimers();
    const attempt = this.current;
    this.current = null;
    if (!attempt) return;
    attempt.heartbeat.stop();
    attempt.deliveries.clear();
    // What was committed is acked before the socket goes, so the relay need not send it again.
    attempt.acks.flush();
    const { socket } = attempt;
    if (socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const fallback = setTimeout(() => {
        socket.terminate();
        resolve();
      }, closeTimeoutMs);
      fallback.unref();
      socket.once("close", () => {
        clearTimeout(fallback);
        resolve();
      });
      if (socket.readyState === WebSocket.OPEN) socket.close(1000, "shutdown");
      else socket.terminate();
    });
  }

  private async connect(): Promise<void> {
    if (this.state === "closed" || this.state === "credentials_rejected") return;
    const relayUrl = this.policy.relayUrl;
    const { httpUrl, wsUrl } = connectUrl(relayUrl, this.options.agentId);
    this.setState("connecting");
    this.emit("attempt", { relayUrl });
    let headers: Record<string, string>;
    try {
      headers = await this.options.signer({ method: "GET", url: httpUrl });
    } catch (error) {
      this.fail(`signing failed: ${(error as Error).message}`, relayUrl);
      return;
    }
    if (this.state !== "connecting") return;
    const socket = new WebSocket(wsUrl, {
      headers: { ...headers, [HEADERS.connectorId]: this.options.connectorId },
      handshakeTimeout: this.options.timing.connectTimeoutMs,
      maxPayload: PROTOCOL_LIMITS.maxFrameBytes + 1024,
      perMessageDeflate: false,
    });
    const attempt: Attempt = {
      socket,
      relayUrl,
      rejection: null,
      heartbeat: new Heartbeat(
        this.options.clock,
        this.options.timing,
        () => {
          if (socket.readyState === WebSocket.OPEN) socket.send("ping");
        },
        () => this.onHeartbeatTimeout(attempt),
      ),
      deliveries: new DeliverCoalescer(
        (items) => this.commitDelivered(items),
        (outcome) => {
          attempt.acks.add(outcome.ack);
          if (outcome.nackInboxFull.length === 0) return;
          attempt.acks.flush();
          for (const ids of chunkIds(outcome.nackInboxFull)) {
            socket.send(encode({ type: "nack", ids, reason: "inbox_full" }, this.options.onAckSent));
          }
        },
      ),
      acks: new AckCoalescer((ids) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(encode({ type: "ack", ids }, this.options.onAckSent));
      }),
    };
    this.current = attempt;
    socket.on("open", () => this.onOpen(attempt));
    socket.on("message", (data, isBinary) => this.onMessage(attempt, data, isBinary));
    socket.on("unexpected-response", (_request, response) => this.onRejected(attempt, response));
    socket.on("error", (error) => {
      if (this.current === attempt) this.lastError = error.message;
    });
    socket.on("close", (code, reason) => this.onClose(attempt, code, reason.toString("utf8")));
  }

  private onOpen(attempt: Attempt): void {
    if (this.current !== attempt) return;
    this.setState("handshaking");
    const resume = this.options.resumeState();
    attempt.socket.send(
      encode(
        {
          type: "reconnect",
          connectorId: this.options.connectorId,
          lastReceivedId: resume.lastReceivedId,
          offlineSinceMs: resume.offlineSinceMs,
          mode: this.mode,
        },
        this.options.onAckSent,
      ),
    );
    attempt.heartbeat.start();
    this.replaceTimer(
      "handshake",
      this.options.clock.setTimeout(() => {
        if (this.current !== attempt || this.state !== "handshaking") return;
        this.lastError = "no reconnect_ack in time";
        this.options.logger.warn({ event: "handshake_timeout", relayUrl: attempt.relayUrl }, "no reconnect_ack");
        attempt.socket.terminate();
      }, this.options.timing.connectTimeoutMs),
    );
  }

  private onMessage(attempt: Attempt, data: WebSocket.RawData, isBinary: boolean): void {
    if (this.current !== attempt) return;
    const incoming = readIncoming(data, isBinary);
    switch (incoming.kind) {
      case "pong":
        attempt.heartbeat.pong();
        this.emit("pong");
        return;
      case "invalid":
        this.options.logger.warn({ event: "relay_frame_invalid", code: incoming.code }, incoming.message);
        return;
      case "partial_deliver":
        this.options.logger.warn(
          { event: "relay_frame_invalid", invalidCount: incoming.invalidIds.length },
          "deliver frame with malformed items",
        );
        if (incoming.items.length > 0) this.handleDeliver(attempt, incoming.items);
        for (const ids of chunkIds(incoming.invalidIds)) {
          attempt.socket.send(encode({ type: "nack", ids, reason: "invalid" }, this.options.onAckSent));
        }
        return;
      case "frame":
        this.emit("frame", incoming.frame);
        this.handleFrame(attempt, incoming.frame);
    }
  }

  private handleFrame(attempt: Attempt, frame: RelayFrame): void {
    switch (frame.type) {
      case "reconnect_ack": {
        this.cancelTimer("handshake");
        this.connectedAt = this.options.clock.now();
        this.sessionId = frame.sessionId;
        this.lastError = null;
        this.setState("connected");
        this.options.logger.info(
          {
            event: "link_connected",
            relayUrl: attempt.relayUrl,
            sessionId: frame.sessionId,
            role: frame.role,
            queuedCount: frame.queuedCount,
            lanes: frame.lanes,
            expiredCount: frame.expiredCount,
            resync: frame.resync,
          },
          "connected to relay",
        );
        this.setRole(frame.role, "reconnect_ack");
        this.emit("connected", frame);
        return;
      }
      case "role":
        this.setRole(frame.role, frame.reason);
        return;
      case "deliver":
        this.handleDeliver(attempt, frame.items);
        return;
      case "error":
        this.options.logger.warn({ event: "relay_error_frame", code: frame.code }, frame.message);
    }
  }

  private handleDeliver(attempt: Attempt, items: DeliverItem[]): void {
    attempt.deliveries.add(items);
  }

  /** Store delivered items; null when nothing was committed (nothing may be acked then). */
  private commitDelivered(items: DeliverItem[]): DeliverOutcome | null {
    try {
      return this.options.onDeliver(items);
    } catch (error) {
      // Nothing was committed, so nothing is acked; the relay redelivers after its ack timeout.
      this.options.logger.error(
        { event: "inbox_store_failed", count: items.length, error: (error as Error).message },
        "could not store delivered items",
      );
      return null;
    }
  }

  private onRejected(attempt: Attempt, response: IncomingMessage): void {
    readUpgradeRejection(response, (rejection) => {
      attempt.rejection = rejection;
      this.lastError = `upgrade refused: ${rejection.status}${rejection.code ? ` ${rejection.code}` : ""}`;
      attempt.socket.terminate();
    });
  }

  private onClose(attempt: Attempt, code: number, reason: string): void {
    if (this.current !== attempt) return;
    this.current = null;
    attempt.heartbeat.stop();
    attempt.deliveries.clear();
    attempt.acks.clear();
    this.cancelTimer("handshake");
    const wasConnected = this.state === "connected";
    const now = this.options.clock.now();
    const connectedFor = wasConnected && this.connectedAt !== null ? now - this.connectedAt : 0;
    this.connectedAt = null;
    this.sessionId = null;
    this.role = null;
    this.emit("disconnected", { code, reason, wasConnected });
    if (this.state === "closed") return;
    const log = { relayUrl: attempt.relayUrl, code, reason, connectedForMs: connectedFor };

    if (code === CLOSE_CODES.credentials || attempt.rejection?.credentialsRejected) {
      this.lastError = "credentials rejected by the relay";
      this.setState("credentials_rejected");
      this.options.logger.error(
        { event: "credentials_rejected", ...log, rejectionCode: attempt.rejection?.code ?? null },
        "the relay rejected this agent's credentials; not reconnecting with them",
      );
      this.emit("stopped", { reason: "credentials_rejected" });
      return;
    }
    if (code === CLOSE_CODES.superseded) {
      // Another connector took over; come back as a standby rather than fight for the active role.
      this.mode = "auto";
      this.options.logger.warn({ event: "link_superseded", ...log }, "superseded by a takeover");
    } else {
      this.options.logger.warn({ event: "link_closed", ...log }, "relay link closed");
    }
    if (wasConnected) this.policy.sessionEnded(connectedFor);
    else this.policy.attemptFailed();
    this.scheduleReconnect();
  }

  private fail(message: string, relayUrl: string): void {
    this.lastError = message;
    this.options.logger.warn({ event: "link_attempt_failed", relayUrl, error: message }, "connect attempt failed");
    this.policy.attemptFailed();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.state === "closed" || this.state === "credentials_rejected") return;
    const { delayMs, attempt, restartWindow } = this.policy.nextDelay();
    this.setState("backoff");
    this.emit("reconnect_scheduled", { delayMs, relayUrl: this.policy.relayUrl, attempt, restartWindow });
    this.replaceTimer(
      "reconnect",
      this.options.clock.setTimeout(() => {
        this.timers.reconnect = null;
        void this.connect();
      }, delayMs),
    );
  }

  private onHeartbeatTimeout(attempt: Attempt): void {
    if (this.current !== attempt) return;
    this.lastError = "no pong from the relay";
    this.options.logger.warn(
      { event: "heartbeat_timeout", relayUrl: attempt.relayUrl, pongTimeoutMs: this.options.timing.pongTimeoutMs },
      "no pong in time; reconnecting",
    );
    attempt.socket.terminate();
  }

  private setRole(role: Role, reason: string): void {
    const changed = role !== this.role;
    this.role = role;
    if (!changed) return;
    this.options.logger.info({ event: "role_changed", role, reason }, `role is now ${role}`);
    this.emit("role", role, reason);
  }

  private setState(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  }

  private replaceTimer(name: TimerName, handle: TimerHandle): void {
    this.timers[name]?.cancel();
    this.timers[name] = handle;
  }

  private cancelTimer(name: TimerName): void {
    this.timers[name]?.cancel();
    this.timers[name] = null;
  }

  private cancelTimers(): void {
    for (const name of Object.keys(this.timers) as TimerName[]) this.cancelTimer(name);
  }
}
