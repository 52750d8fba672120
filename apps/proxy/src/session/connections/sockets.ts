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

/**
 * The session's sockets, from `ctx.getWebSockets()` each time: no in-memory list to lose on
 * hibernation. Each socket's attachment is deserialized once per instance and remembered by its
 * WebSocket object (the runtime hands out the same object for a connection, which frame dispatch
 * relies on too): deserializing every socket's attachment several times per event was a visible
 * share of a message's CPU. Every write goes through `attach`/`update`, so the memo is the
 * attachment; after a hibernation the instance is new and reads them again.
 */
export class Sockets {
  private readonly attachments = new WeakMap<WebSocket, SocketAttachment>();

  constructor(private readonly state: DurableObjectState) {}

  /** A socket's attachment, or null if it has none (not accepted by this session). */
  read(ws: WebSocket): SocketAttachment | null {
    const known = this.attachments.get(ws);
    if (known) return known;
    const data = ws.deserializeAttachment() as SocketAttachment | null;
    if (data) this.attachments.set(ws, data);
    return data;
  }

  /** Store a socket's whole attachment (it survives hibernation). */
  attach(ws: WebSocket, data: SocketAttachment): void {
    ws.serializeAttachment(data);
    this.attachments.set(ws, data);
  }

  all(): LiveSocket[] {
    const out: LiveSocket[] = [];
    for (const ws of this.state.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const data = this.read(ws);
      if (data) out.push({ ws, data });
    }
    return out;
  }

  active(): LiveSocket | null {
    return this.all().find((s) => s.data.role === "active") ?? null;
  }

  update(socket: LiveSocket, patch: Partial<SocketAttachment>): void {
    socket.data = { ...socket.data, ...patch };
    this.attach(socket.ws, socket.data);
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
