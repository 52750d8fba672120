import { agentIdSchema, PROTOCOL_LIMITS, TOKEN_TYPE } from "@clawrelay/protocol";
import { jwtVerify, SignJWT } from "jose";
import { ulid } from "ulid";
import { z } from "zod";
import { TokenError } from "./errors.js";
import { type Ed25519PrivateJwk, type Ed25519PublicJwk, ed25519PublicJwkSchema, importPrivateKey } from "./jwk.js";
import {
  checkIssuedAt,
  checkProtectedHeader,
  isHttpOrigin,
  nowSeconds,
  peekClaims,
  toTokenError,
} from "./jwt-common.js";
import { findRegistryKey, importRegistryKey, type RegistryJwks } from "./registries.js";

/** Identity token claims (PROTOCOL.md §2). */
export interface IdentityClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  cnf: { jwk: Ed25519PublicJwk };
  relay: string;
}

const numericDate = z.number().int().nonnegative();

const identityClaimsSchema = z
  .object({
    iss: z.string().min(1),
    sub: agentIdSchema,
    aud: z.string().min(1),
    iat: numericDate,
    exp: numericDate,
    nbf: z.number().optional(),
    jti: z.string().min(1).max(128),
    cnf: z.object({ jwk: ed25519PublicJwkSchema }),
    relay: z.string().refine(isHttpOrigin, "relay must be an http(s) origin"),
  })
  .refine((claims) => claims.exp > claims.iat, "exp must be after iat")
  .refine((claims) => claims.exp - claims.iat <= PROTOCOL_LIMITS.tokenMaxLifetimeSeconds, "lifetime exceeds 90 days");

export interface IssueIdentityInput {
  /** Must carry `kid`: relays pick the registry key by it. */
  registryPrivateJwk: Ed25519PrivateJwk;
  iss: string;
  sub: string;
  aud: string;
  relay: string;
  agentPublicJwk: Ed25519PublicJwk;
  lifetimeSeconds: number;
  /** Unix seconds; default now. */
  now?: number;
  /** Default a fresh ULID. */
  jti?: string;
}

/**
 * Issues an agent identity token. Claims are written in the order of the test vectors
 * (iss, sub, aud, iat, exp, jti, cnf, relay), so the same inputs give the same token bytes.
 */
export async function issueIdentityToken(input: IssueIdentityInput): Promise<string> {
  const kid = input.registryPrivateJwk.kid;
  if (kid === undefined || kid === "") throw new TypeError("registry private JWK must carry a kid");
  if (!agentIdSchema.safeParse(input.sub).success) throw new TypeError("sub is not a valid agent id");
  if (input.iss === "" || input.aud === "") throw new TypeError("iss and aud must not be empty");
  if (!isHttpOrigin(input.relay))
    throw new TypeError("relay must be an http(s) origin such as https://relay.example.com");
  const lifetime = input.lifetimeSeconds;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0 || lifetime > PROTOCOL_LIMITS.tokenMaxLifetimeSeconds) {
    throw new RangeError("lifetimeSeconds must be whole seconds, at most 90 days");
  }
  const iat = Math.floor(input.now ?? Date.now() / 1000);
  const publicJwk = ed25519PublicJwkSchema.safeParse(input.agentPublicJwk);
  if (!publicJwk.success) throw new TypeError("agentPublicJwk is not an Ed25519 public JWK");
  const { kty, crv, x } = publicJwk.data;
  const claims = {
    iss: input.iss,
    sub: input.sub,
    aud: input.aud,
    iat,
    exp: iat + lifetime,
    jti: input.jti ?? ulid(),
    cnf: { jwk: { kty, crv, x } },
    relay: input.relay,
  };
  const key = await importPrivateKey(input.registryPrivateJwk);
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ: TOKEN_TYPE, kid }).sign(key);
}

export interface VerifyIdentityOptions {
  registries: RegistryJwks;
  audience: string;
  /** Unix seconds; default now. */
  now?: number;
  /** Default 60 (PROTOCOL.md §2). */
  clockToleranceSeconds?: number;
}

/**
 * Verifies an identity token (PROTOCOL.md §2). Throws TokenError: `token_expired` when only the
 * expiry fails, `invalid_token` for everything else. Messages never contain the token.
 */
export async function verifyIdentityToken(token: string, options: VerifyIdentityOptions): Promise<IdentityClaims> {
  const now = nowSeconds(options.now);
  const tolerance = options.clockToleranceSeconds ?? PROTOCOL_LIMITS.tokenClockToleranceSeconds;
  const { kid } = checkProtectedHeader(token, TOKEN_TYPE);
  const { iss } = peekClaims(token);
  if (typeof iss !== "string") throw new TokenError("invalid_token", "token lacks iss");
  const jwk = findRegistryKey(options.registries, iss, kid);
  if (jwk === null) throw new TokenError("invalid_token", "token issuer or kid is not trusted");

  let payload: unknown;
  try {
    const key = await importRegistryKey(iss, jwk).catch(() => {
      throw new TokenError("invalid_token", "trusted registry key is unusable");
    });
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      issuer: iss,
      audience: options.audience,
      typ: TOKEN_TYPE,
      requiredClaims: ["iss", "sub", "aud", "iat", "exp", "jti", "cnf", "relay"],
      clockTolerance: tolerance,
      currentDate: new Date(now * 1000),
    }));
  } catch (err) {
    throw toTokenError(err);
  }

  const parsed = identityClaimsSchema.safeParse(payload);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join(".") || issue.message).join(", ");
    throw new TokenError("invalid_token", `token claims rejected: ${where}`);
  }
  const claims = parsed.data;
  checkIssuedAt(claims.iat, now, tolerance);
  return {
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
    cnf: { jwk: claims.cnf.jwk },
    relay: claims.relay,
  };
}
