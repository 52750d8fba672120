import type { Sockets } from "../connections/sockets.js";
import type { DeliveryBreaker } from "../delivery/breaker.js";
import type { Meta } from "../storage/meta.js";

/** The recipient's side of delivery, as far as a waiting message is concerned. */
export interface RecipientState {
  /** An active connector socket is open. */
  connected: boolean;
  /** When the last active connector went away; null while one is connected or if none ever was. */
  offlineSince: number | null;
  knownSince: number | null;
  breaker: { state: "closed" | "open" | "half_open"; openedAt: number | null; probeAt: number | null };
}

export function recipientState(sockets: Sockets, meta: Meta, breaker: DeliveryBreaker, now: number): RecipientState {
  const connected = sockets.active() !== null;
  const offline = meta.get("offline_since");
  const known = meta.get("known_since");
  const { state, openedAt } = breaker.status(now);
  return {
    connected,
    offlineSince: connected || offline === null ? null : Number(offline),
    knownSince: known === null ? null : Number(known),
    breaker: { state, openedAt, probeAt: breaker.probeAt() },
  };
}
