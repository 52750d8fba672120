import { type IdentityClaims, importPublicKey, TokenError, verifyIdentityToken } from "@clawrelay/signing";
import type { RelayConfig } from "../config.js";

export interface VerifiedIdentity {
  claims: IdentityClaims;
  /** The agent's `cnf.jwk`, imported once. */
  publicKey: CryptoKey;
}

const MAX_ENTRIES = 10_000;
const TOLERANCE_SECONDS = 60;

/**
 * Verified identity tokens cached per isolate by the token's SHA-256 (PROTOCOL.md §2), until `exp`.
 * Verifying EdDSA and importing the cnf key is most of a request's CPU; a connector reuses its
 * token for days. The cache is keyed by the config object too, so a changed registry set in
 * tests or after a deploy never serves a stale verdict.
 */
const cache = new Map<string, { identity: VerifiedIdentity; exp: number; config: RelayConfig }>();

export async function verifyIdentityCached(
  token: string,
  tokenHash: string,
  config: RelayConfig,
  nowSeconds: number,
): Promise<VerifiedIdentity> {
  const hit = cache.get(tokenHash);
  if (hit && hit.config === config) {
    if (nowSeconds > hit.exp + TOLERANCE_SECONDS) {
      cache.delete(tokenHash);
      throw new TokenError("token_expired", "identity token expired");
    }
    return hit.identity;
  }
  const claims = await verifyIdentityToken(token, {
    registries: config.REGISTRY_JWKS,
    audience: config.RELAY_AUDIENCE,
    now: nowSeconds,
    clockToleranceSeconds: TOLERANCE_SECONDS,
  });
  const publicKey = await importPublicKey(claims.cnf.jwk);
  const identity = { claims, publicKey };
  if (cache.size >= MAX_ENTRIES) {
    // Maps iterate in insertion order: drop the oldest entry.
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(tokenHash, { identity, exp: claims.exp, config });
  return identity;
}
