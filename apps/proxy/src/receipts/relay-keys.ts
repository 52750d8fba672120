import { RelayError } from "@clawrelay/protocol";
import { type Ed25519PrivateJwk, type Jwks, parsePrivateJwk } from "@clawrelay/signing";
import type { RelayConfig } from "../config.js";

const signingKeys = new WeakMap<RelayConfig, Ed25519PrivateJwk>();

/** This relay's receipt-signing key (secret RELAY_SIGNING_JWK), parsed once per config. */
export function relaySigningKey(config: RelayConfig): Ed25519PrivateJwk {
  const cached = signingKeys.get(config);
  if (cached) return cached;
  if (!config.RELAY_SIGNING_JWK)
    throw new RelayError("unavailable", "this relay has no receipt signing key", { retryAfterSeconds: 300 });
  let key: Ed25519PrivateJwk;
  try {
    key = parsePrivateJwk(JSON.parse(config.RELAY_SIGNING_JWK));
  } catch {
    throw new RelayError("unavailable", "RELAY_SIGNING_JWK is not an Ed25519 private JWK", { retryAfterSeconds: 300 });
  }
  if (!key.kid) throw new RelayError("unavailable", "RELAY_SIGNING_JWK needs a kid", { retryAfterSeconds: 300 });
  signingKeys.set(config, key);
  return key;
}

/**
 * The public keys this relay signs receipts with: the current key plus retired ones
 * (RELAY_RETIRED_JWKS) that stay published until their receipts are no longer retried (24 h).
 */
export function publishedJwks(config: RelayConfig): Jwks {
  const keys: Record<string, unknown>[] = [];
  if (config.RELAY_SIGNING_JWK) {
    const { kty, crv, x, kid } = relaySigningKey(config);
    keys.push({ kty, crv, x, kid, alg: "EdDSA", use: "sig" });
  }
  for (const retired of config.RELAY_RETIRED_JWKS.keys) {
    const { kty, crv, x, kid } = retired as Record<string, unknown>;
    if (kid !== keys[0]?.kid) keys.push({ kty, crv, x, kid, alg: "EdDSA", use: "sig" });
  }
  return { keys };
}
