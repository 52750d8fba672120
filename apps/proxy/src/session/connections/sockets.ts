import { encodeFrame, type Frame } from "@clawrelay/protocol";
import type { ConnectionStatus } from "../observation/status.js";
import type { StoredHealth } from "./health.js";

export type SocketRole = "pending" | "active" | "standby";

/** Per-socket data; lives in serializeAttachment so it survives hibernation. */
export interface SocketAttachment {
  connectionId: string;
  connectorId: string;
  /** The identity the connection was opened with; checked again while it stays open. */
  jti: string;
  tokenExpiresAt: number;
  role: SocketRole;
  connectedAt: number;
  roleSince: number;
  /** Times of recent invalid frames (at most the limit), for the 20-in-60-s rule. */
  invalidAt: number[];
  /** The connector's latest `health` frame (PROTOCOL.md §6), absent until it sends one. */
  health?: StoredHealth;
}

export interface LiveSocket {
  ws: WebSocket;
  data: SocketAttachment;
}

/** The session's sockets, rebuilt from `ctx.getWebSockets()` each time: no in-memory map to lose on hibernation. */
export class Sockets {
  constructor(private readonly state: DurableObjectState) {}

  all(): LiveSocket[] {
    const out: LiveSocket[] = [];
    for (const ws of this.state.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const data = ws.deserializeAttachment() as SocketAttachment | null;
      if (data) out.push({ ws, data });
    }
    return out;
  }

  active(): LiveSocket | null {
    return this.all().find((s) => s.data.role === "active") ?? null;
  }

  update(socket: LiveSocket, patch: Partial<SocketAttachment>): void {
    socket.data = { ...socket.data, ...patch };
    socket.ws.serializeAttachment(socket.data);
  }

  lastPingAt(ws: WebSocket): number | null {
    const at = this.state.getWebSocketAutoResponseTimestamp(ws);
    return at ? at.getTime() : null;
  }

  /** Last sign of life: the last auto-answered `ping`, else when the socket opened. */
  lastSeen(socket: LiveSocket): number {
    return Math.max(this.lastPingAt(socket.ws) ?? 0, socket.data.connectedAt);
  }

  status(): ConnectionStatus[] {
    return this.all().map((s) => ({
      connectorId: s.data.connectorId,
      role: s.data.role,
      connectedAt: s.data.connectedAt,
      lastPingAt: this.lastPingAt(s.ws),
      health: s.data.health ?? null,
    }));
  }
}

/** Send a frame; a socket that died under us is not an error here (its close handler runs). */
export function sendFrame(ws: WebSocket, frame: Frame): boolean {
  try {
    ws.send(encodeFrame(frame));
    return true;
  } catch {
    return false;
  }
}

export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closed or closing.
  }
}
