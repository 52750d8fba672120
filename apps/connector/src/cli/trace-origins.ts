import { relayOriginOf } from "../daemon/outbound-message.js";
import type { RelaySkipped } from "./trace-report.js";
import type { RelayAuth } from "./trace-sources.js";

/**
 * Which relay origins `clawrelay trace` may hand its credentials to. The origin of a message's
 * record is read from connector data (an outbound row's `toRelay`, a connector's link URL), and
 * whoever can write that data — any local caller of a connector's API — could name their own
 * server there. So credentials go only to an origin the user named: `--relay`, a relay in a
 * connector config given with `--connector` (its `relayUrls` and `trustedRelays`),
 * CLAWRELAY_RELAY_URLS, or, for an agent's signed request, the home relay its registry-signed
 * token names. The admin token, a bearer secret, never travels over plain http to another host.
 */
export class TrustedOrigins {
  private readonly origins = new Set<string>();

  add(value: string): void {
    const origin = relayOriginOf(value);
    if (origin !== null) this.origins.add(origin);
  }

  has(origin: string): boolean {
    return this.origins.has(origin);
  }
}

/** localhost, 127.0.0.0/8 and ::1: plain http there never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Why `auth` must not be sent to `origin`, or null when it may. */
export function credentialRefusal(origin: string, auth: RelayAuth, trusted: TrustedOrigins): RelaySkipped | null {
  const allowed = trusted.has(origin) || (auth.kind === "agent" && relayOriginOf(auth.identity.relay) === origin);
  if (!allowed) {
    return {
      status: "skipped",
      code: "untrusted_origin",
      reason: `the relay ${origin} comes from connector data, not from you, so no credentials were sent to it; pass --relay ${origin} to ask it`,
    };
  }
  const url = new URL(origin);
  if (auth.kind === "admin" && url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    return {
      status: "skipped",
      code: "insecure_origin",
      reason: `the admin token is never sent over plain http to ${origin}; use the relay's https origin`,
    };
  }
  return null;
}
