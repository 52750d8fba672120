import {
  CLOSE_CODES,
  connectorFrameSchema,
  PROTOCOL_LIMITS,
  parseFrame,
  processedItems,
  RelayError,
} from "@clawrelay/protocol";
import { assertNotRevoked, type RevocationSource } from "../auth/revocations.js";
import { log } from "../log.js";
import type { DeliveryBreaker } from "./breaker.js";
import type { SessionContext } from "./context.js";
import type { Delivery } from "./delivery.js";
import { handshake, promoteStandby } from "./handshake.js";
import { storeHealth } from "./health.js";
import { countConnectedTime } from "./metrics.js";
import { closeSocket, type LiveSocket, type Sockets, sendFrame } from "./sockets.js";

export const CLOSE_POLICY = CLOSE_CODES.policy;
export const CLOSE_TOO_BIG = CLOSE_CODES.tooBig;
export const CLOSE_INTERNAL = CLOSE_CODES.internal;
export const CLOSE_CREDENTIALS = CLOSE_CODES.credentials;

/**
 * Everything a connector socket says, after the Worker let it in. Never throws: an invalid frame
 * gets an `error` frame, and 20 of them within 60 s close the socket with 1008.
 */
export class ConnectionHandler {
  constructor(
    private readonly s: SessionContext,
    private readonly sockets: Sockets,
    private readonly delivery: Delivery,
    private readonly breaker: DeliveryBreaker,
  ) {}

  message(ws: WebSocket, data: string | ArrayBuffer, now: number): void {
    const socket = this.sockets.all().find((o) => o.ws === ws);
    if (!socket) return;
    const parsed = parseFrame(data, connectorFrameSchema, PROTOCOL_LIMITS.maxFrameBytes);
    if (!parsed.ok) {
      if (parsed.code === "frame_too_big") {
        closeSocket(ws, CLOSE_TOO_BIG, "frame too big");
        this.closed(ws, now);
        return;
      }
      this.invalid(socket, parsed.message, now);
      return;
    }
    const frame = parsed.frame;
    if (socket.data.role === "pending") {
      if (frame.type !== "reconnect") {
        sendFrame(ws, { type: "error", code: "invalid_frame", message: "the first frame must be reconnect" });
        closeSocket(ws, CLOSE_POLICY, "reconnect frame required first");
        return;
      }
      handshake(this.s, this.sockets, this.delivery, socket, frame, now);
      return;
    }
    switch (frame.type) {
      case "reconnect":
        this.invalid(socket, "reconnect is only valid as the first frame", now);
        return;
      case "ack":
        // Acks count from any socket of this agent: each means "durably stored by a connector".
        this.delivery.ack(frame.ids, now);
        return;
      case "nack":
        this.delivery.nack(frame.ids, frame.retryAfterMs, frame.reason, now);
        return;
      case "processed":
        // The batched form is that many single frames, in order, within this one event.
        for (const item of processedItems(frame)) this.delivery.processed(item.id, item.outcome, item.reason, now);
        return;
      case "health":
        storeHealth(this.s, this.sockets, socket, frame, now);
        return;
    }
  }

  private invalid(socket: LiveSocket, message: string, now: number): void {
    const windowStart = now - PROTOCOL_LIMITS.invalidFrameWindowMs;
    const recent = [...socket.data.invalidAt.filter((t) => t > windowStart), now].slice(
      -PROTOCOL_LIMITS.invalidFrameLimit,
    );
    this.sockets.update(socket, { invalidAt: recent });
    sendFrame(socket.ws, { type: "error", code: "invalid_frame", message });
    if (recent.length >= PROTOCOL_LIMITS.invalidFrameLimit) {
      log("warn", {
        event: "socket_closed_invalid_frames",
        agentId: this.s.agentId(),
        connectorId: socket.data.connectorId,
      });
      closeSocket(socket.ws, CLOSE_POLICY, "too many invalid frames");
      this.closed(socket.ws, now);
    }
  }

  /** A socket closed or errored: requeue its in-flight items; if it was active, promote a standby. */
  closed(ws: WebSocket, now: number): void {
    const data = ws.deserializeAttachment() as LiveSocket["data"] | null;
    if (!data) return;
    const wasActive = data.role === "active";
    ws.serializeAttachment({ ...data, role: "standby" });
    const requeued = this.delivery.requeueConnection(data.connectionId, now);
    if (requeued > 0 && this.s.meta.get("breaker_probe") === "1") this.breaker.clearProbe();
    log("info", {
      event: "connector_disconnected",
      agentId: this.s.agentId(),
      connectorId: data.connectorId,
      wasActive,
      requeued,
    });
    if (wasActive) {
      countConnectedTime(this.s.metrics, this.s.meta, true, now);
      this.s.meta.set("offline_since", now);
      promoteStandby(this.s, this.sockets, this.delivery, "active connector disconnected", now);
    }
  }

  /**
   * When a socket must next be checked: its handshake deadline, when it would turn stale, or its
   * token's expiry. `standby` says whether a standby is connected: then the active socket is
   * judged by RELAY_FAILOVER_AFTER_MS (PROTOCOL.md §6), and only then, so a session with no
   * standby is woken no more often than the stale rule needs.
   */
  private deadline(socket: LiveSocket, standby: boolean): number {
    const expiry = socket.data.tokenExpiresAt * 1000;
    if (socket.data.role === "pending")
      return Math.min(expiry, socket.data.connectedAt + PROTOCOL_LIMITS.reconnectFrameTimeoutMs);
    return Math.min(expiry, this.sockets.lastSeen(socket) + this.silenceLimit(socket, standby));
  }

  /** How long a socket may go without a ping before it is closed. */
  private silenceLimit(socket: LiveSocket, standby: boolean): number {
    const stale = this.s.config.RELAY_STALE_AFTER_MS;
    if (socket.data.role !== "active" || !standby) return stale;
    return Math.min(stale, this.s.config.RELAY_FAILOVER_AFTER_MS);
  }

  private hasStandby(sockets: readonly LiveSocket[]): boolean {
    return sockets.some((socket) => socket.data.role === "standby");
  }

  /**
   * Close with 4003 every connection whose token expired or was revoked (the connector then stops
   * instead of reconnecting with the same credentials). Revocations come from the per-isolate
   * snapshot, so this costs no global call per alarm. Returns how many were closed.
   */
  async closeRevoked(source: RevocationSource, now: number): Promise<number> {
    let closed = 0;
    for (const socket of this.sockets.all()) {
      let reason: string | null = now >= socket.data.tokenExpiresAt * 1000 ? "credentials expired" : null;
      if (!reason) {
        try {
          // Past the stale bound this throws unavailable: an open connection is kept, not cut.
          await assertNotRevoked(
            source,
            socket.data.jti,
            this.s.agentId(),
            now,
            this.s.config.RELAY_REVOCATION_MAX_STALE_SECONDS * 1000,
          );
        } catch (err) {
          if (err instanceof RelayError && err.code === "revoked") reason = "credentials revoked";
        }
      }
      if (reason) {
        this.closeForCredentials(socket, reason, now);
        closed++;
      }
    }
    return closed;
  }

  /** The agent itself was revoked: every connection goes, now. */
  closeAllForCredentials(reason: string, now: number): number {
    const sockets = this.sockets.all();
    for (const socket of sockets) this.closeForCredentials(socket, reason, now);
    return sockets.length;
  }

  private closeForCredentials(socket: LiveSocket, reason: string, now: number): void {
    log("warn", {
      event: "socket_credentials_rejected",
      agentId: this.s.agentId(),
      connectorId: socket.data.connectorId,
      reason,
    });
    closeSocket(socket.ws, CLOSE_CREDENTIALS, reason);
    this.closed(socket.ws, now);
  }

  sweepDeadline(): number | null {
    const sockets = this.sockets.all();
    const standby = this.hasStandby(sockets);
    const deadlines = sockets.map((socket) => this.deadline(socket, standby));
    return deadlines.length ? Math.min(...deadlines) : null;
  }

  /**
   * Alarm-time checks: a socket that never sent `reconnect` within 10 s is closed with 1008;
   * one whose last auto-answered ping is older than RELAY_STALE_AFTER_MS — or, for the active
   * socket while a standby is connected, RELAY_FAILOVER_AFTER_MS — is closed as stale, and the
   * longest-waiting standby takes over with everything in flight (the close path).
   */
  sweep(now: number): void {
    const sockets = this.sockets.all();
    // The active one last, with the standbys as they are after their own checks: a standby
    // closed as stale here must not fail the active over to nobody.
    const ordered = [
      ...sockets.filter((o) => o.data.role !== "active"),
      ...sockets.filter((o) => o.data.role === "active"),
    ];
    for (const socket of ordered) {
      const standby = socket.data.role === "active" && this.hasStandby(this.sockets.all());
      if (now < this.deadline(socket, standby)) continue;
      if (now >= socket.data.tokenExpiresAt * 1000) continue; // closeRevoked answers this with 4003
      if (socket.data.role === "pending") {
        sendFrame(socket.ws, { type: "error", code: "handshake_timeout", message: "no reconnect frame within 10 s" });
        closeSocket(socket.ws, CLOSE_POLICY, "no reconnect frame within 10 s");
      } else {
        const failover = now - this.sockets.lastSeen(socket) < this.s.config.RELAY_STALE_AFTER_MS;
        log("warn", {
          event: failover ? "socket_failover" : "socket_stale",
          agentId: this.s.agentId(),
          connectorId: socket.data.connectorId,
          role: socket.data.role,
          silentForMs: now - this.sockets.lastSeen(socket),
        });
        closeSocket(socket.ws, CLOSE_INTERNAL, failover ? "failover: no ping while a standby waits" : "stale: no ping");
      }
      this.closed(socket.ws, now);
    }
  }
}
