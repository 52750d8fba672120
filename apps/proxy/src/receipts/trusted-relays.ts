import { RelayError } from "@clawrelay/protocol";
import type { Jwks } from "@clawrelay/signing";
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import type { RelayConfig } from "../config.js";

/**
 * Key resolvers for the relays named in TRUSTED_RELAYS, by origin: a pinned JWKS, or a JWKS URL
 * fetched with jose's remote key set (cached per isolate, refetched on an unknown `kid`).
 */
const resolvers = new WeakMap<RelayConfig, Map<string, Jwks | JWTVerifyGetKey>>();

export function trustedRelayKeys(config: RelayConfig, origin: string): Jwks | JWTVerifyGetKey {
  let byOrigin = resolvers.get(config);
  if (!byOrigin) {
    byOrigin = new Map();
    for (const relay of config.TRUSTED_RELAYS) {
      const key = new URL(relay.origin).origin;
      byOrigin.set(
        key,
        "jwks" in relay
          ? relay.jwks
          : createRemoteJWKSet(new URL(relay.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 600_000 }),
      );
    }
    resolvers.set(config, byOrigin);
  }
  const keys = byOrigin.get(origin);
  if (!keys) throw new RelayError("invalid_token", "receipt from a relay this relay does not trust");
  return keys;
}
