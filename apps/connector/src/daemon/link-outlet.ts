import type { ConnectorFrame } from "@clawrelay/protocol";
import WebSocket from "ws";
import { encode, processedIds } from "./link-frames.js";

const NO_IDS: ReadonlySet<string> = new Set();

/** Sends a frame on the live relay session; false when there is none (the caller keeps it for later). */
export interface FrameSender {
  send(frame: ConnectorFrame): boolean;
}

/** The established session's socket, as the link hands it over on `reconnect_ack`. */
export interface LiveSession {
  socket: WebSocket;
  relayUrl: string;
  /** The session's waiting acks (deliver-coalescer.ts), flushed before any other frame. */
  acks: { flush(carried?: ReadonlySet<string>): void };
}

/**
 * Where the connector's frames meet the relay socket. It exists before the link, so the parts
 * that send on it (the inbound worker's `processed` reports, the health frames) and the outbound
 * worker that follows the live relay are built before the link that feeds the inbound worker,
 * and none of them holds the link. The link opens it on each `reconnect_ack` and closes it when
 * that session ends. Every frame the link writes goes through `write`, so `onAckSent` (a
 * stop-point harness, stop-points.ts) is told the ids of each ack frame (and `foldedAcks`, the
 * ids whose ack a `processed` frame carried instead).
 */
export class LinkOutlet implements FrameSender {
  private session: LiveSession | null = null;
  private reports: (() => ReadonlySet<string>) | null = null;

  constructor(private readonly onAckSent?: (ids: readonly string[]) => void) {}

  /**
   * Where the waiting `processed` reports are sent from when acks are about to go (the hook
   * worker's `flushReports(true)`; daemon.ts wires it once both exist).
   */
  foldAcksInto(reports: () => ReadonlySet<string>): void {
    this.reports = reports;
  }

  /**
   * The acks of `socket` are about to go: send the reports that wait (on that socket only, when
   * it is the live one) and return the ids they carried, which the ack frame leaves out.
   */
  foldAcks(socket: WebSocket): ReadonlySet<string> {
    if (!this.reports || this.session?.socket !== socket) return NO_IDS;
    return this.reports();
  }

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

  /** Acks that went in a `processed` frame: the stop-point harness hears of them like an ack frame's. */
  foldedAcks(ids: readonly string[]): void {
    this.onAckSent?.(ids);
  }

  send(frame: ConnectorFrame): boolean {
    const session = this.session;
    if (!session || session.socket.readyState !== WebSocket.OPEN) return false;
    // Acks that wait go first: the relay must hear an item was stored before (or as) it was
    // processed. A `processed` frame is its items' ack, so the ack frame leaves them out.
    session.acks.flush(frame.type === "processed" ? processedIds(frame) : undefined);
    this.write(session.socket, frame);
    return true;
  }

  write(socket: WebSocket, frame: ConnectorFrame): void {
    socket.send(encode(frame, this.onAckSent));
  }
}
