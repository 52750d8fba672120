import { type ConnectorHealth, type HealthFrame, healthSubstance } from "@clawrelay/protocol";
import type { SessionMetrics } from "../metrics.js";
import type { LiveSocket, Sockets } from "./sockets.js";

/** A connector's latest `health` frame as its socket keeps it, with when it came. */
export type StoredHealth = ConnectorHealth & { receivedAt: number };

/**
 * Keep a socket's latest health in its attachment (it survives hibernation, and goes with the
 * socket). Storing is all a frame costs; a change of substance marks the session's summary for its
 * next report to the metrics shard, which is throttled (one per SUMMARY_INTERVAL_MS) — so no flood
 * of frames fans out faster than that.
 */
export function storeHealth(
  summary: Pick<SessionMetrics, "dirty">,
  sockets: Pick<Sockets, "update">,
  socket: LiveSocket,
  frame: HealthFrame,
  now: number,
): void {
  const { type: _type, ...health } = frame;
  const previous = socket.data.health;
  sockets.update(socket, { health: { ...health, receivedAt: now } });
  // Every change of substance marks the summary, however soon it follows the last frame: the
  // connector sends a changed report once and never repeats it, so a change dropped here (a hook
  // that came back 3 s after it failed) would stay unseen. The work stays bounded all the same:
  // the summary reporter sends at most one report per SUMMARY_INTERVAL_MS.
  if (previous === undefined || healthSubstance(previous) !== healthSubstance(health)) summary.dirty = true;
}
