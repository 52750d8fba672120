import {
  CLOSE_CODES,
  PRIORITIES,
  PROTOCOL_LIMITS,
  type ReconnectAckFrame,
  type ReconnectFrame,
} from "@clawrelay/protocol";
import { log } from "../log.js";
import type { SessionContext } from "./context.js";
import { type Delivery, EVER_SENT } from "./delivery.js";
import { countConnectedTime } from "./metrics.js";
import { closeSocket, type LiveSocket, type Sockets, sendFrame } from "./sockets.js";

export const CLOSE_SUPERSEDED = CLOSE_CODES.superseded;

/**
 * The `reconnect` → `reconnect_ack` handshake (PROTOCOL.md §6): decide the socket's role, tell
 * the connector what is queued and what expired while it was away, then start delivery.
 */
export function handshake(
  s: SessionContext,
  sockets: Sockets,
  delivery: Delivery,
  socket: LiveSocket,
  frame: ReconnectFrame,
  now: number,
): void {
  countConnectedTime(s.metrics, s.meta, sockets.active() !== null, now);
  const others = sockets.all().filter((o) => o.ws !== socket.ws);
  // An older socket of the same connector is a half-dead previous connection: replace it.
  let inheritActive = false;
  for (const old of others.filter((o) => o.data.connectorId === frame.connectorId)) {
    if (old.data.role === "active") inheritActive = true;
    retire(s, sockets, delivery, old, "replaced by a newer connection of the same connector", now);
  }
  const current = sockets.active();
  let role: "active" | "standby";
  let tookOver = false;
  if (inheritActive || !current) {
    role = "active";
  } else if (frame.mode === "takeover") {
    retire(s, sockets, delivery, current, "superseded by a takeover", now);
    role = "active";
    tookOver = true;
  } else {
    role = "standby";
  }
  const resync = needsResync(s, frame.lastReceivedId);
  if (!resync && frame.lastReceivedId !== null) {
    // The connector says it holds this item: count its word as the ack that may have been lost.
    // Done before this socket gets its role, so no deliver frame can overtake the reconnect_ack.
    delivery.ack([frame.lastReceivedId], now);
  }
  sockets.update(socket, { role, roleSince: now, connectorId: frame.connectorId });
  s.metrics.count("reconnects", {}, 1, now);
  delivery.requeueOrphans(now);
  sendFrame(socket.ws, reconnectAck(s, socket, role, frame.offlineSinceMs, resync));
  log("info", {
    event: "connector_handshake",
    agentId: s.agentId(),
    connectorId: frame.connectorId,
    role,
    resync,
    mode: frame.mode,
  });
  // A takeover replaces another connector: like a promoted standby, it starts with a closed
  // breaker and everything due now, not behind the backoffs the superseded one earned.
  if (tookOver) delivery.handOver(now);
  else if (role === "active") delivery.pump(now);
}

/** Close a socket with 4001 and put what it had in flight back in the queue. */
function retire(
  s: SessionContext,
  sockets: Sockets,
  delivery: Delivery,
  socket: LiveSocket,
  reason: string,
  now: number,
): void {
  sockets.update(socket, { role: "standby" });
  closeSocket(socket.ws, CLOSE_SUPERSEDED, reason);
  delivery.requeueConnection(socket.data.connectionId, now);
  log("info", { event: "connector_superseded", agentId: s.agentId(), connectorId: socket.data.connectorId, reason });
}

/** Unknown to the relay, or never sent (so "newer than anything it sent"). */
function needsResync(s: SessionContext, lastReceivedId: string | null): boolean {
  if (lastReceivedId === null) return false;
  const row = s.sql.one<{ sent: number }>(`SELECT ${EVER_SENT} AS sent FROM items WHERE id = ?`, lastReceivedId);
  return row === null || row.sent === 0;
}

function reconnectAck(
  s: SessionContext,
  socket: LiveSocket,
  role: "active" | "standby",
  offlineSinceMs: number | null,
  resync: boolean,
): ReconnectAckFrame {
  const usage = s.sql.all<{ lane: number; items: number }>("SELECT lane, items FROM lane_usage");
  const receipts = s.sql.one<{ items: number }>("SELECT items FROM receipt_usage WHERE id = 0")?.items ?? 0;
  const lanes = { critical: 0, normal: 0, low: 0 };
  for (const row of usage) {
    const name = PRIORITIES[row.lane];
    if (name) lanes[name] = row.items;
  }
  // Receipts for this agent travel in the critical lane.
  lanes.critical += receipts;
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
  const oldest = s.sql.one<{ enqueued_at: number }>(
    "SELECT enqueued_at FROM items WHERE state IN ('queued', 'inflight') ORDER BY seq LIMIT 1",
  );
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

/** The longest-waiting standby becomes active and gets everything that was in flight. */
export function promoteStandby(
  s: SessionContext,
  sockets: Sockets,
  delivery: Delivery,
  reason: string,
  now: number,
): LiveSocket | null {
  if (sockets.active()) return null;
  const next = sockets
    .all()
    .filter((o) => o.data.role === "standby")
    .sort((a, b) => a.data.roleSince - b.data.roleSince)[0];
  if (!next) return null;
  sockets.update(next, { role: "active", roleSince: now });
  sendFrame(next.ws, { type: "role", role: "active", reason });
  log("info", { event: "standby_promoted", agentId: s.agentId(), connectorId: next.data.connectorId, reason });
  delivery.handOver(now);
  return next;
}
