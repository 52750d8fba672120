import { type ConnectorHealth, type HealthFrame, healthSubstance } from "@clawrelay/protocol";
import type { SessionContext } from "./context.js";
import type { LiveSocket, Sockets } from "./sockets.js";

/** A connector's latest `health` frame as its socket keeps it, with when it came. */
export type StoredHealth = ConnectorHealth & { receivedAt: number };

/** A connector sends health at most this often (PROTOCOL.md §6); a faster one gets no extra work. */
export const HEALTH_MIN_INTERVAL_MS = 10_000;

/**
 * Keep a socket's latest health in its attachment (it survives hibernation, and goes with the
 * socket). Storing is all a frame costs; only a change of substance, at most once per
 * HEALTH_MIN_INTERVAL_MS per socket, marks the session's summary for its next (itself throttled)
 * report to the metrics shard — so no frame sets an alarm or fans out on its own.
 */
export function storeHealth(s: SessionContext, sockets: Sockets, socket: LiveSocket, frame: HealthFrame, now: number) {
  const { type: _type, ...health } = frame;
  const previous = socket.data.health;
  sockets.update(socket, { health: { ...health, receivedAt: now } });
  const quiet = previous !== undefined && now - previous.receivedAt < HEALTH_MIN_INTERVAL_MS;
  if (!quiet && (previous === undefined || healthSubstance(previous) !== healthSubstance(health)))
    s.metrics.dirty = true;
}
