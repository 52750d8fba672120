import type { ConnectorFrame } from "@clawrelay/protocol";
import WebSocket from "ws";
import { encode } from "./link-frames.js";

/** Sends a frame on the live relay session; false when there is none (the caller keeps it for later). */
export interface FrameSender {
  send(frame: ConnectorFrame): boolean;
}

/** The established session's socket, as the link hands it over on `reconnect_ack`. */
export interface LiveSession {
  socket: WebSocket;
  relayUrl: string;
  /** The session's waiting acks (deliver-coalescer.ts), flushed before any other frame. */
  acks: { flush(): void };
}

/**
 * Where the connector's frames meet the relay socket. It exists before the link, so the parts
 * that send on it (the inbound worker's `processed` reports, the health frames) and the outbound
 * worker that follows the live relay are built before the link that feeds the inbound worker,
 * and none of them holds the link. The link opens it on each `reconnect_ack` and closes it when
 * that session ends. Every frame the link writes goes through `write`, so `onAckSent` (a
 * stop-point harness, stop-points.ts) is told the ids of each ack frame.
 */
export class LinkOutlet implements FrameSender {
  private session: LiveSession | null = null;

  constructor(private readonly onAckSent?: (ids: readonly string[]) => void) {}

  opened(session: LiveSession): void {
    this.session = session;
  }

  closed(): void {
    this.session = null;
  }

  /** The relay URL of the live session, for HTTP calls that should go where the socket goes. */
  relayUrl(): string | null {
    return this.session?.relayUrl ?? null;
  }

  send(frame: ConnectorFrame): boolean {
    const session = this.session;
    if (!session || session.socket.readyState !== WebSocket.OPEN) return false;
    // Acks that wait go first: the relay must hear an item was stored before it was processed.
    session.acks.flush();
    this.write(session.socket, frame);
    return true;
  }

  write(socket: WebSocket, frame: ConnectorFrame): void {
    socket.send(encode(frame, this.onAckSent));
  }
}
