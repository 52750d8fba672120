import { decodeJwt, decodeProtectedHeader, errors } from "jose";
import { TokenError } from "./errors.js";

/** A JWT compact serialization bigger than this is abuse, not a token; refuse before any parsing. */
const MAX_TOKEN_CHARS = 16_384;

export interface TrustedHeader {
  kid: string;
}

/**
 * Reads the protected header without trusting it and refuses anything but EdDSA with the exact
 * `typ` and a `kid`. Doing this before any key is chosen rules out alg confusion (`none`, or
 * HS256 keyed with public key bytes) whatever the key source would accept.
 */
export function checkProtectedHeader(token: unknown, typ: string): TrustedHeader {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_CHARS) {
    throw new TokenError("invalid_token", "token is not a compact JWS");
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new TokenError("invalid_token", "token header is unreadable");
  }
  if (header.alg !== "EdDSA") throw new TokenError("invalid_token", "token alg must be EdDSA");
  if (header.typ !== typ) throw new TokenError("invalid_token", `token typ must be ${typ}`);
  if (typeof header.kid !== "string" || header.kid.length === 0) {
    throw new TokenError("invalid_token", "token header lacks kid");
  }
  return { kid: header.kid };
}

/** Unverified claims, only to pick the key; every claim is checked again after the signature. */
export function peekClaims(token: string): Record<string, unknown> {
  try {
    return decodeJwt(token);
  } catch {
    throw new TokenError("invalid_token", "token claims are unreadable");
  }
}

/** jose's failures as protocol codes: an expired token is `token_expired`, anything else `invalid_token`. */
export function toTokenError(err: unknown): unknown {
  if (err instanceof TokenError) return err;
  if (err instanceof errors.JWTExpired) return new TokenError("token_expired", "token expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    return new TokenError("invalid_token", `token claim ${err.claim} rejected (${err.reason})`);
  }
  // A key set that did not answer in time says nothing about the token: like an unreachable key
  // set, it is left to the caller (the receipts route answers 503 `unavailable` with Retry-After),
  // not turned into a 401 that would call a possibly good receipt invalid.
  if (err instanceof errors.JWKSTimeout) return err;
  if (err instanceof errors.JOSEError) return new TokenError("invalid_token", `token rejected (${err.code})`);
  return err;
}

/** iat in the future beyond the tolerance: jose only checks it with maxTokenAge, which we do not use. */
export function checkIssuedAt(iat: number, now: number, toleranceSeconds: number): void {
  if (iat > now + toleranceSeconds) throw new TokenError("invalid_token", "token iat is in the future");
}

/** `http(s)://host[:port]` exactly as URL serializes an origin: no path, no trailing slash, lower case. */
export function isHttpOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
}

export function nowSeconds(now: number | undefined): number {
  const seconds = now ?? Date.now() / 1000;
  if (!Number.isFinite(seconds)) throw new TypeError("now must be finite unix seconds");
  return seconds;
}
