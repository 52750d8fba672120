import {
  CLOSE_CODES,
  PRIORITIES,
  PROTOCOL_LIMITS,
  type ReconnectAckFrame,
  type ReconnectFrame,
} from "@clawrelay/protocol";
import { log } from "../../log.js";
import type { Sql } from "../../platform/sql.js";
import type { Delivery } from "../delivery/delivery.js";
import { countConnectedTime, type SessionMetrics } from "../metrics.js";
import type { Capacity } from "../queue/capacity.js";
import { OLDEST_LIVE_SQL } from "../storage/items.js";
import type { Meta } from "../storage/meta.js";
import { closeSocket, type LiveSocket, type Sockets, sendFrame } from "./sockets.js";

const CLOSE_SUPERSEDED = CLOSE_CODES.superseded;

export interface HandshakeHost {
  readonly sockets: Sockets;
  readonly sql: Sql;
  readonly meta: Meta;
  readonly metrics: SessionMetrics;
  /** What is queued, for the `reconnect_ack` (the queue's owner keeps it). */
  readonly capacity: Pick<Capacity, "lane" | "receipts">;
  readonly delivery: Pick<Delivery, "resume" | "start">;
  agentId(): string;
}

/**
 * The `reconnect` → `reconnect_ack` handshake (PROTOCOL.md §6): decide the socket's role, tell
 * the connector what is queued and what expired while it was away, then start delivery.
 * Delivery is asked twice, on either side of the `reconnect_ack`: what it changes first (the
 * replaced sockets' items, the ack the connector's word stands for) shows in the frame, and no
 * deliver frame may go out before it.
 */
export function handshake(s: HandshakeHost, socket: LiveSocket, frame: ReconnectFrame, now: number): void {
  const { sockets } = s;
  countConnectedTime(s.metrics, s.meta, sockets.active() !== null, now);
  const others = sockets.all().filter((o) => o.ws !== socket.ws);
  const retired: string[] = [];
  // An older socket of the same connector is a half-dead previous connection: replace it.
  let inheritActive = false;
  for (const old of others.filter((o) => o.data.connectorId === frame.connectorId)) {
    if (old.data.role === "active") inheritActive = true;
    retired.push(retire(s, old, "replaced by a newer connection of the same connector"));
  }
  const current = sockets.active();
  let role: "active" | "standby";
  let tookOver = false;
  if (inheritActive || !current) {
    role = "active";
  } else if (frame.mode === "takeover") {
    retired.push(retire(s, current, "superseded by a takeover"));
    role = "active";
    tookOver = true;
  } else {
    role = "standby";
  }
  const { resync } = s.delivery.resume(retired, frame.lastReceivedId, now);
  sockets.update(socket, { role, roleSince: now, connectorId: frame.connectorId });
  s.metrics.count("reconnects", {}, 1, now);
  sendFrame(socket.ws, reconnectAck(s, socket, role, frame.offlineSinceMs, resync));
  log("info", {
    event: "connector_handshake",
    agentId: s.agentId(),
    connectorId: frame.connectorId,
    role,
    resync,
    mode: frame.mode,
  });
  s.delivery.start(role, tookOver, now);
}

/** Close a socket with 4001 (delivery puts what it had in flight back in the queue). Returns its connection id. */
function retire(s: HandshakeHost, socket: LiveSocket, reason: string): string {
  s.sockets.update(socket, { role: "standby" });
  closeSocket(socket.ws, CLOSE_SUPERSEDED, reason);
  log("info", { event: "connector_superseded", agentId: s.agentId(), connectorId: socket.data.connectorId, reason });
  return socket.data.connectionId;
}

function reconnectAck(
  s: Pick<HandshakeHost, "sql" | "meta" | "capacity">,
  socket: LiveSocket,
  role: "active" | "standby",
  offlineSinceMs: number | null,
  resync: boolean,
): ReconnectAckFrame {
  const lanes = { critical: 0, normal: 0, low: 0 };
  PRIORITIES.forEach((name, rank) => {
    lanes[name] = s.capacity.lane(rank).items;
  });
  // Receipts for this agent travel in the critical lane.
  lanes.critical += s.capacity.receipts().items;
  let expiredCount = 0;
  let expired: ReconnectAckFrame["expired"] = [];
  if (offlineSinceMs !== null) {
    expiredCount = s.sql.scalar(
      "SELECT COUNT(*) FROM items WHERE state = 'expired' AND kind = 'message' AND finished_at >= ?",
      offlineSinceMs,
    );
    expired = s.sql
      .all<{ id: string; correlation_id: string; sender: string; finished_at: number }>(
        `SELECT id, correlation_id, sender, finished_at FROM items
         WHERE state = 'expired' AND kind = 'message' AND finished_at >= ? ORDER BY finished_at LIMIT ?`,
        offlineSinceMs,
        PROTOCOL_LIMITS.maxExpiredInHandshake,
      )
      .map((r) => ({ id: r.id, correlationId: r.correlation_id, from: r.sender, expiredAt: r.finished_at }));
  }
  const oldest = s.sql.one<{ enqueued_at: number }>(OLDEST_LIVE_SQL);
  return {
    type: "reconnect_ack",
    sessionId: socket.data.connectionId,
    role,
    queuedCount: lanes.critical + lanes.normal + lanes.low,
    lanes,
    expiredCount,
    expired,
    oldestQueuedAt: oldest?.enqueued_at ?? null,
    lastAckedId: s.meta.get("last_acked_id"),
    resync,
  };
}
