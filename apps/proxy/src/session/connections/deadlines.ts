import { PROTOCOL_LIMITS } from "@clawrelay/protocol";
import type { RelayConfig } from "../../config.js";
import type { LiveSocket, Sockets } from "./sockets.js";

type SilenceRules = Pick<RelayConfig, "RELAY_STALE_AFTER_MS" | "RELAY_FAILOVER_AFTER_MS">;

/**
 * When a socket must next be checked: its handshake deadline, when it would turn stale, or its
 * token's expiry. While a standby is connected (among `all`), the active socket is judged by
 * RELAY_FAILOVER_AFTER_MS (PROTOCOL.md §6), and only then, so a session with no standby is woken
 * no more often than the stale rule needs.
 */
export function socketDeadline(
  socket: LiveSocket,
  all: readonly LiveSocket[],
  sockets: Pick<Sockets, "lastSeen">,
  rules: SilenceRules,
): number {
  const expiry = socket.data.tokenExpiresAt * 1000;
  if (socket.data.role === "pending")
    return Math.min(expiry, socket.data.connectedAt + PROTOCOL_LIMITS.reconnectFrameTimeoutMs);
  const standby = socket.data.role === "active" && all.some((other) => other.data.role === "standby");
  return Math.min(expiry, sockets.lastSeen(socket) + silenceLimit(socket, standby, rules));
}

/** How long a socket may go without a ping before it is closed. */
function silenceLimit(socket: LiveSocket, standby: boolean, rules: SilenceRules): number {
  const stale = rules.RELAY_STALE_AFTER_MS;
  if (socket.data.role !== "active" || !standby) return stale;
  return Math.min(stale, rules.RELAY_FAILOVER_AFTER_MS);
}

/**
 * The order of the alarm's socket checks: the active one last, with the standbys as they are
 * after their own checks, so a standby closed as stale must not fail the active over to nobody.
 */
export function sweepOrder(sockets: readonly LiveSocket[]): LiveSocket[] {
  return [...sockets.filter((o) => o.data.role !== "active"), ...sockets.filter((o) => o.data.role === "active")];
}
