import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import { CLOSE_CODES, type DeliverItem, type RelayFrame } from "@clawrelay/protocol";
import type WebSocket from "ws";
import type { TimerHandle } from "./clock.js";
import { type Attempt, type AttemptHost, cancelHandshake, closeSocket, openAttempt, quiesce } from "./link-attempt.js";
import { chunkIds, connectUrl, readIncoming, readUpgradeRejection } from "./link-frames.js";
import { LinkOutlet } from "./link-outlet.js";
import { ReconnectPolicy } from "./link-policy.js";
import type { LinkEvents, LinkOptions, LinkState, LinkStatus, Role } from "./link-types.js";

export type {
  DeliverOutcome,
  LinkConfig,
  LinkEvents,
  LinkOptions,
  LinkState,
  LinkStatus,
  LinkTiming,
  Role,
} from "./link-types.js";

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
  private reconnectTimer: TimerHandle | null = null;
  private readonly outlet: LinkOutlet;
  private readonly attemptHost: AttemptHost;

  constructor(private readonly options: LinkOptions) {
    super();
    const { config } = options;
    this.policy = new ReconnectPolicy(config.relayUrls, config, options.clock, options.random);
    this.mode = config.takeover ? "takeover" : "auto";
    this.outlet = options.outlet ?? new LinkOutlet();
    this.attemptHost = {
      connectorId: options.connectorId,
      clock: options.clock,
      timing: config,
      outlet: this.outlet,
      logger: options.logger,
      onDeliver: options.onDeliver,
      heartbeatTimedOut: (attempt) => this.onHeartbeatTimeout(attempt),
    };
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

  /** Close with 1000 and never reconnect. Resolves once the socket is gone (bounded wait). */
  async stop(closeTimeoutMs = 2_000): Promise<void> {
    if (this.state === "closed") return;
    this.outlet.closed();
    this.setState("closed");
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    const attempt = this.current;
    this.current = null;
    if (!attempt) return;
    quiesce(attempt);
    // What was committed is acked before the socket goes, so the relay need not send it again.
    attempt.acks.flush();
    await closeSocket(attempt.socket, closeTimeoutMs);
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
    const attempt = openAttempt(this.attemptHost, relayUrl, wsUrl, headers);
    const { socket } = attempt;
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
    this.outlet.write(attempt.socket, {
      type: "reconnect",
      connectorId: this.options.connectorId,
      lastReceivedId: resume.lastReceivedId,
      offlineSinceMs: resume.offlineSinceMs,
      mode: this.mode,
    });
    attempt.heartbeat.start();
    attempt.handshake = this.options.clock.setTimeout(() => {
      if (this.current !== attempt || this.state !== "handshaking") return;
      this.lastError = "no reconnect_ack in time";
      this.options.logger.warn({ event: "handshake_timeout", relayUrl: attempt.relayUrl }, "no reconnect_ack");
      attempt.socket.terminate();
    }, this.options.config.connectTimeoutMs);
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
          this.outlet.write(attempt.socket, { type: "nack", ids, reason: "invalid" });
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
        cancelHandshake(attempt);
        this.connectedAt = this.options.clock.now();
        this.sessionId = frame.sessionId;
        this.lastError = null;
        this.outlet.opened(attempt);
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
    this.outlet.closed();
    quiesce(attempt);
    attempt.acks.clear();
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
    this.reconnectTimer?.cancel();
    this.reconnectTimer = this.options.clock.setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delayMs);
  }

  private onHeartbeatTimeout(attempt: Attempt): void {
    if (this.current !== attempt) return;
    this.lastError = "no pong from the relay";
    this.options.logger.warn(
      { event: "heartbeat_timeout", relayUrl: attempt.relayUrl, pongTimeoutMs: this.options.config.pongTimeoutMs },
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
}
