import { type IdentityClaims, importPublicKey, TokenError, tokenHash, verifyIdentityToken } from "@clawrelay/signing";
import type { RelayConfig } from "../config.js";

export interface VerifiedIdentity {
  claims: IdentityClaims;
  /** The agent's `cnf.jwk`, imported once. */
  publicKey: CryptoKey;
  /** The token's SHA-256 as the canonical string signs it (PROTOCOL.md §3), computed once. */
  tokenHash: string;
}

const MAX_ENTRIES = 10_000;
const TOLERANCE_SECONDS = 60;

/**
 * Verified identity tokens cached per isolate until `exp`, by the token itself: verifying EdDSA
 * and importing the cnf key is most of a request's CPU, and a connector reuses its token for
 * days. Keyed by the token rather than by its SHA-256 (PROTOCOL.md §2), so a request computes
 * the hash its canonical string signs only when the token is new here (issue 18: one SHA-256 a
 * request); the tokens held are what requests carry anyway, never logged or returned. The entry
 * holds the config object too, so a changed registry set in tests or after a deploy never
 * serves a stale verdict.
 */
const cache = new Map<string, { identity: VerifiedIdentity; exp: number; config: RelayConfig }>();

export async function verifyIdentityCached(
  token: string,
  config: RelayConfig,
  nowSeconds: number,
): Promise<VerifiedIdentity> {
  const hit = cache.get(token);
  if (hit && hit.config === config) {
    if (nowSeconds > hit.exp + TOLERANCE_SECONDS) {
      cache.delete(token);
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
  const identity = { claims, publicKey, tokenHash: await tokenHash(token) };
  if (cache.size >= MAX_ENTRIES) {
    // Maps iterate in insertion order: drop the oldest entry.
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(token, { identity, exp: claims.exp, config });
  return identity;
}
