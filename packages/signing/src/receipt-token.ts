import { PROTOCOL_LIMITS, RECEIPT_TOKEN_TYPE } from "@clawrelay/protocol";
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey, jwtVerify, SignJWT } from "jose";
import { ulid } from "ulid";
import { z } from "zod";
import { TokenError } from "./errors.js";
import { type Ed25519PrivateJwk, importPrivateKey, type Jwks } from "./jwk.js";
import { checkIssuedAt, checkProtectedHeader, isHttpOrigin, nowSeconds, toTokenError } from "./jwt-common.js";

/** Each POST of a receipt is signed afresh, so a token only has to outlive one request and its skew. */
const DEFAULT_RECEIPT_LIFETIME_SECONDS = 300;
const MAX_RECEIPT_LIFETIME_SECONDS = 86_400;

export interface SignReceiptInput {
  /** This relay's key (`RELAY_SIGNING_JWK`); must carry `kid`. */
  privateJwk: Ed25519PrivateJwk;
  /** This relay's origin. */
  iss: string;
  /** The destination relay's origin. */
  aud: string;
  receipt: unknown;
  /** The agent the receipt is for (the message's sender), homed on the destination relay. */
  sub?: string;
  lifetimeSeconds?: number;
  /** Unix seconds; default now. */
  now?: number;
  /** Default a fresh ULID. */
  jti?: string;
}

/** A receipt JWT (PROTOCOL.md §7): header typ `receipt+jwt`, claims iss, aud, iat, exp, jti, receipt. */
export async function signReceiptToken(input: SignReceiptInput): Promise<string> {
  const kid = input.privateJwk.kid;
  if (kid === undefined || kid === "") throw new TypeError("relay private JWK must carry a kid");
  if (!isHttpOrigin(input.iss) || !isHttpOrigin(input.aud)) throw new TypeError("iss and aud must be http(s) origins");
  if (input.receipt === undefined) throw new TypeError("receipt is required");
  const lifetime = input.lifetimeSeconds ?? DEFAULT_RECEIPT_LIFETIME_SECONDS;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0 || lifetime > MAX_RECEIPT_LIFETIME_SECONDS) {
    throw new RangeError("lifetimeSeconds must be whole seconds, at most one day");
  }
  const iat = Math.floor(input.now ?? Date.now() / 1000);
  const claims = {
    iss: input.iss,
    aud: input.aud,
    iat,
    exp: iat + lifetime,
    jti: input.jti ?? ulid(),
    ...(input.sub !== undefined ? { sub: input.sub } : {}),
    receipt: input.receipt,
  };
  const key = await importPrivateKey(input.privateJwk);
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ: RECEIPT_TOKEN_TYPE, kid }).sign(key);
}

export interface VerifyReceiptOptions {
  /** The sending relay's JWKS, or a jose key resolver such as `createRemoteJWKSet`. */
  jwks: Jwks | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /** Unix seconds; default now. */
  now?: number;
}

const receiptClaimsSchema = z
  .object({
    iss: z.string(),
    iat: z.number().int().nonnegative(),
    exp: z.number().int().nonnegative(),
    jti: z.string().min(1).max(128),
    sub: z.string().min(1).max(64).optional(),
    receipt: z.unknown(),
  })
  .refine(
    (claims) => claims.exp > claims.iat && claims.exp - claims.iat <= MAX_RECEIPT_LIFETIME_SECONDS,
    "bad lifetime",
  );

/** jose caches imported keys per key set; keep one set per JWKS object so that cache is reused. */
const localKeySets = new WeakMap<Jwks, JWTVerifyGetKey>();

function keyResolver(jwks: Jwks | JWTVerifyGetKey): JWTVerifyGetKey {
  if (typeof jwks === "function") return jwks;
  let resolver = localKeySets.get(jwks);
  if (resolver === undefined) {
    resolver = createLocalJWKSet(jwks as JSONWebKeySet);
    localKeySets.set(jwks, resolver);
  }
  return resolver;
}

/** Verifies a receipt JWT from `issuer` addressed to `audience`. Throws TokenError. */
export async function verifyReceiptToken(
  token: string,
  options: VerifyReceiptOptions,
): Promise<{ receipt: unknown; iss: string; jti: string; sub?: string }> {
  const now = nowSeconds(options.now);
  const tolerance = PROTOCOL_LIMITS.tokenClockToleranceSeconds;
  checkProtectedHeader(token, RECEIPT_TOKEN_TYPE);
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, keyResolver(options.jwks), {
      algorithms: ["EdDSA"],
      issuer: options.issuer,
      audience: options.audience,
      typ: RECEIPT_TOKEN_TYPE,
      requiredClaims: ["iss", "aud", "iat", "exp", "jti", "receipt"],
      clockTolerance: tolerance,
      currentDate: new Date(now * 1000),
    }));
  } catch (err) {
    // A trusted relay's token whose signature fails is refused with its own code.
    if (err instanceof errors.JWSSignatureVerificationFailed)
      throw new TokenError("invalid_signature", "receipt signature does not verify");
    throw toTokenError(err);
  }
  const parsed = receiptClaimsSchema.safeParse(payload);
  if (!parsed.success) throw new TokenError("invalid_token", "receipt token claims rejected");
  checkIssuedAt(parsed.data.iat, now, tolerance);
  return {
    receipt: parsed.data.receipt,
    iss: parsed.data.iss,
    jti: parsed.data.jti,
    ...(parsed.data.sub !== undefined ? { sub: parsed.data.sub } : {}),
  };
}
