import { type DeliverItem, HEADERS, PROTOCOL_LIMITS } from "@clawrelay/protocol";
import type { Logger } from "pino";
import WebSocket from "ws";
import type { Clock, TimerHandle } from "./clock.js";
import { AckCoalescer, DeliverCoalescer } from "./deliver-coalescer.js";
import { chunkIds, type UpgradeRejection } from "./link-frames.js";
import type { LinkOutlet } from "./link-outlet.js";
import { Heartbeat } from "./link-policy.js";
import type { DeliverOutcome, LinkTiming } from "./link-types.js";

/** One connect attempt: its socket and what lives and dies with it. */
export interface Attempt {
  socket: WebSocket;
  relayUrl: string;
  rejection: UpgradeRejection | null;
  heartbeat: Heartbeat;
  deliveries: DeliverCoalescer;
  acks: AckCoalescer;
  /** Ends the attempt when no `reconnect_ack` comes in time after the socket opened. */
  handshake: TimerHandle | null;
}

export interface AttemptHost {
  connectorId: string;
  clock: Clock;
  timing: LinkTiming;
  outlet: LinkOutlet;
  logger: Logger;
  /** Must commit the items before returning; throwing means nothing was stored and nothing is acked. */
  onDeliver: (items: DeliverItem[]) => DeliverOutcome;
  heartbeatTimedOut: (attempt: Attempt) => void;
}

/** Open the socket of an attempt on `relayUrl`, signed with `headers`, with its heartbeat and coalescers. */
export function openAttempt(
  host: AttemptHost,
  relayUrl: string,
  wsUrl: string,
  headers: Record<string, string>,
): Attempt {
  const { outlet } = host;
  const socket = new WebSocket(wsUrl, {
    headers: { ...headers, [HEADERS.connectorId]: host.connectorId },
    handshakeTimeout: host.timing.connectTimeoutMs,
    maxPayload: PROTOCOL_LIMITS.maxFrameBytes + 1024,
    perMessageDeflate: false,
  });
  const attempt: Attempt = {
    socket,
    relayUrl,
    rejection: null,
    heartbeat: new Heartbeat(
      host.clock,
      host.timing,
      () => {
        if (socket.readyState === WebSocket.OPEN) socket.send("ping");
      },
      () => host.heartbeatTimedOut(attempt),
    ),
    deliveries: new DeliverCoalescer(
      (items) => commitDelivered(host, items),
      (outcome) => {
        attempt.acks.add(outcome.ack);
        if (outcome.nackInboxFull.length === 0) return;
        attempt.acks.flush();
        for (const ids of chunkIds(outcome.nackInboxFull)) {
          outlet.write(socket, { type: "nack", ids, reason: "inbox_full" });
        }
      },
    ),
    acks: new AckCoalescer((ids) => {
      if (socket.readyState === WebSocket.OPEN) outlet.write(socket, { type: "ack", ids });
    }),
    handshake: null,
  };
  return attempt;
}

export function cancelHandshake(attempt: Attempt): void {
  attempt.handshake?.cancel();
  attempt.handshake = null;
}

/** Stop what runs for the attempt (heartbeat, handshake deadline, waiting deliveries); its acks are the caller's. */
export function quiesce(attempt: Attempt): void {
  attempt.heartbeat.stop();
  cancelHandshake(attempt);
  attempt.deliveries.clear();
}

/** Store delivered items; null when nothing was committed (nothing may be acked then). */
function commitDelivered(host: AttemptHost, items: DeliverItem[]): DeliverOutcome | null {
  try {
    return host.onDeliver(items);
  } catch (error) {
    // Nothing was committed, so nothing is acked; the relay redelivers after its ack timeout.
    host.logger.error(
      { event: "inbox_store_failed", count: items.length, error: (error as Error).message },
      "could not store delivered items",
    );
    return null;
  }
}

/** Close with 1000 (or terminate a socket not open yet); resolves once it is gone, after `closeTimeoutMs` at most. */
export async function closeSocket(socket: WebSocket, closeTimeoutMs: number): Promise<void> {
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
