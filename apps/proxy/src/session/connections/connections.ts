import {
  CLOSE_CODES,
  connectorFrameSchema,
  PROTOCOL_LIMITS,
  parseFrame,
  processedItems,
  RelayError,
} from "@clawrelay/protocol";
import { assertNotRevoked, type RevocationSource } from "../../auth/revocations.js";
import type { RelayConfig } from "../../config.js";
import { log } from "../../log.js";
import { newUlid } from "../../platform/ids.js";
import type { Sql } from "../../platform/sql.js";
import type { Delivery } from "../delivery/delivery.js";
import { countConnectedTime, type SessionMetrics } from "../metrics.js";
import type { Capacity } from "../queue/capacity.js";
import type { Meta } from "../storage/meta.js";
import { socketDeadline, sweepOrder } from "./deadlines.js";
import { handshake } from "./handshake.js";
import { storeHealth } from "./health.js";
import { closeSocket, type LiveSocket, type SocketAttachment, type Sockets, sendFrame } from "./sockets.js";

const CLOSE_POLICY = CLOSE_CODES.policy;
const CLOSE_TOO_BIG = CLOSE_CODES.tooBig;
const CLOSE_INTERNAL = CLOSE_CODES.internal;
const CLOSE_CREDENTIALS = CLOSE_CODES.credentials;

export interface ConnectionsHost {
  readonly state: DurableObjectState;
  readonly sockets: Sockets;
  readonly sql: Sql;
  readonly meta: Meta;
  readonly metrics: SessionMetrics;
  readonly capacity: Pick<Capacity, "lane" | "receipts">;
  readonly config: Pick<
    RelayConfig,
    "RELAY_STALE_AFTER_MS" | "RELAY_FAILOVER_AFTER_MS" | "RELAY_REVOCATION_MAX_STALE_SECONDS"
  >;
  readonly delivery: Pick<Delivery, "ack" | "nack" | "processed" | "resume" | "start" | "connectionLost">;
  agentId(): string;
}

/** Who opened a socket, as the Worker authenticated it. */
export interface Opener {
  connectorId: string | null;
  jti: string;
  tokenExpiresAt: number;
}

/**
 * Everything a connector socket says, after the Worker let it in. Never throws: an invalid frame
 * gets an `error` frame, and 20 of them within 60 s close the socket with 1008.
 */
export class Connections {
  private readonly sockets: Sockets;

  constructor(private readonly s: ConnectionsHost) {
    this.sockets = s.sockets;
  }

  /** Take the socket of an upgrade: pending until its `reconnect` frame (10 s, PROTOCOL.md §6). */
  accept(opener: Opener, now: number): { client: WebSocket; connectorId: string } {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const connectorId = opener.connectorId || `anon-${newUlid(now)}`;
    this.s.state.acceptWebSocket(server, [connectorId.slice(0, 200)]);
    const attachment: SocketAttachment = {
      connectionId: newUlid(now),
      connectorId,
      jti: opener.jti,
      tokenExpiresAt: opener.tokenExpiresAt,
      role: "pending",
      connectedAt: now,
      roleSince: now,
      invalidAt: [],
    };
    this.sockets.attach(server, attachment);
    return { client, connectorId };
  }

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
      handshake(this.s, socket, frame, now);
      return;
    }
    switch (frame.type) {
      case "reconnect":
        this.invalid(socket, "reconnect is only valid as the first frame", now);
        return;
      case "ack":
        // Acks count from any socket of this agent: each means "durably stored by a connector".
        this.s.delivery.ack(frame.ids, now);
        return;
      case "nack":
        this.s.delivery.nack(frame.ids, frame.retryAfterMs, frame.reason, now);
        return;
      case "processed":
        // The batched form is that many single frames, in order, within this one event.
        for (const item of processedItems(frame)) this.s.delivery.processed(item.id, item.outcome, item.reason, now);
        return;
      case "health":
        storeHealth(this.s.metrics, this.sockets, socket, frame, now);
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
    const data = this.sockets.read(ws);
    if (!data) return;
    const wasActive = data.role === "active";
    this.sockets.attach(ws, { ...data, role: "standby" });
    let promoted: LiveSocket | null = null;
    if (wasActive) {
      countConnectedTime(this.s.metrics, this.s.meta, true, now);
      this.s.meta.set("offline_since", now);
      promoted = this.promoteStandby("active connector disconnected", now);
    }
    const requeued = this.s.delivery.connectionLost(data.connectionId, promoted !== null, now);
    log("info", {
      event: "connector_disconnected",
      agentId: this.s.agentId(),
      connectorId: data.connectorId,
      wasActive,
      requeued,
    });
  }

  /** The longest-waiting standby becomes active (delivery then hands it everything in flight). */
  private promoteStandby(reason: string, now: number): LiveSocket | null {
    if (this.sockets.active()) return null;
    const next = this.sockets
      .all()
      .filter((o) => o.data.role === "standby")
      .sort((a, b) => a.data.roleSince - b.data.roleSince)[0];
    if (!next) return null;
    this.sockets.update(next, { role: "active", roleSince: now });
    sendFrame(next.ws, { type: "role", role: "active", reason });
    log("info", { event: "standby_promoted", agentId: this.s.agentId(), connectorId: next.data.connectorId, reason });
    return next;
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

  /** When the next socket check is due (the alarm's): a handshake deadline, staleness, a token's expiry. */
  nextCheckAt(): number | null {
    const sockets = this.sockets.all();
    const deadlines = sockets.map((socket) => socketDeadline(socket, sockets, this.sockets, this.s.config));
    return deadlines.length ? Math.min(...deadlines) : null;
  }

  /**
   * Alarm-time checks: a socket that never sent `reconnect` within 10 s is closed with 1008;
   * one whose last auto-answered ping is older than RELAY_STALE_AFTER_MS — or, for the active
   * socket while a standby is connected, RELAY_FAILOVER_AFTER_MS — is closed as stale, and the
   * longest-waiting standby takes over with everything in flight (the close path).
   */
  sweep(now: number): void {
    for (const socket of sweepOrder(this.sockets.all())) {
      // The others as they are after their own checks (sweepOrder puts the active one last).
      if (now < socketDeadline(socket, this.sockets.all(), this.sockets, this.s.config)) continue;
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
