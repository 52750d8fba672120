import {
  AUTH_SCHEME,
  CONTENT_DIGEST_PATTERN,
  CORRELATION_ID_PATTERN,
  HEADERS,
  IDEMPOTENCY_KEY_PATTERN,
  NONCE_PATTERN,
  PROTOCOL_LIMITS,
  RelayError,
  SIGNATURE_PATTERN,
  TIMESTAMP_PATTERN,
} from "@clawrelay/protocol";
import { canonicalString, contentDigest, TokenError, verifyCanonical } from "@clawrelay/signing";
import type { Context, MiddlewareHandler } from "hono";
import { readBodyCapped } from "../middleware/body.js";
import { wallClock } from "../platform/clock.js";
import { directoryStub } from "../platform/stubs.js";
import type { AppEnv } from "../types.js";
import { assertRegistryAllowed, bindFirst, directoryRegistries, type RegistrySource } from "./registry-binding.js";
import { assertNotRevoked, type RevocationSource } from "./revocations.js";
import { verifyIdentityCached } from "./token-cache.js";

/** Identity tokens are compact JWS; anything larger than this is abuse, not a token. */
const MAX_TOKEN_CHARS = 8192;

interface SignedHeaders {
  token: string;
  timestamp: string;
  nonce: string;
  signature: string;
  contentDigest: string | null;
  correlationId: string | null;
  idempotencyKey: string | null;
}

/** Step 1 of PROTOCOL.md §3: absent credentials → 401 missing_credentials, malformed ones → 400 invalid_request. */
function readSignedHeaders(headers: Headers): SignedHeaders {
  const authorization = headers.get(HEADERS.authorization);
  if (!authorization) throw new RelayError("missing_credentials", "Authorization header required");
  const space = authorization.indexOf(" ");
  if (space < 0 || authorization.slice(0, space) !== AUTH_SCHEME) {
    throw new RelayError("missing_credentials", `Authorization scheme must be ${AUTH_SCHEME}`);
  }
  const token = authorization.slice(space + 1).trim();
  if (!token) throw new RelayError("missing_credentials", "identity token required");
  if (token.length > MAX_TOKEN_CHARS) throw new RelayError("invalid_token", "identity token too large");

  const required = (name: string, pattern: RegExp): string => {
    const value = headers.get(name);
    if (value === null || value === "") throw new RelayError("missing_credentials", `${name} header required`);
    if (!pattern.test(value)) throw new RelayError("invalid_request", `${name} header is malformed`);
    return value;
  };
  const optional = (name: string, pattern: RegExp): string | null => {
    const value = headers.get(name);
    if (value === null) return null;
    if (!pattern.test(value)) throw new RelayError("invalid_request", `${name} header is malformed`);
    return value;
  };
  return {
    token,
    timestamp: required(HEADERS.timestamp, TIMESTAMP_PATTERN),
    nonce: required(HEADERS.nonce, NONCE_PATTERN),
    signature: required(HEADERS.signature, SIGNATURE_PATTERN),
    contentDigest: optional(HEADERS.contentDigest, CONTENT_DIGEST_PATTERN),
    correlationId: optional(HEADERS.correlationId, CORRELATION_ID_PATTERN),
    idempotencyKey: optional(HEADERS.idempotencyKey, IDEMPOTENCY_KEY_PATTERN),
  };
}

export interface SignedRequestOptions {
  /** Where revocations come from; defaults to the Directory Durable Object. */
  revocations?: (env: Env) => RevocationSource;
  /** Where an agent id's registry binding is kept; defaults to its Directory shard. */
  registries?: (env: Env, agentId: string) => RegistrySource;
  /** Unix milliseconds; injectable for tests. */
  now?: () => number;
}

export function directoryRevocations(env: Env): RevocationSource {
  return directoryStub(env);
}

/**
 * Verifies a signed agent request in the order of PROTOCOL.md §3, each failure with its own code:
 * headers → token (and its registry binding) → revocation → timestamp → digest → signature. The nonce and authorization
 * steps need the addressed relay session and happen there, in that order.
 */
export function signedRequest(options: SignedRequestOptions = {}): MiddlewareHandler<AppEnv> {
  const revocations = options.revocations ?? directoryRevocations;
  const registries = options.registries ?? directoryRegistries;
  const now = options.now ?? wallClock;
  return async function signedRequestMiddleware(c, next) {
    try {
      await verifySignedRequest(c, { revocations: revocations(c.env), registries }, now());
    } catch (err) {
      // Everything up to and including the signature is the Worker's alone (PROTOCOL.md §3).
      if (err instanceof RelayError) c.set("refused", true);
      throw err;
    }
    await next();
  };
}

interface Sources {
  revocations: RevocationSource;
  registries: (env: Env, agentId: string) => RegistrySource;
}

async function verifySignedRequest(c: Context<AppEnv>, sources: Sources, nowMs: number): Promise<void> {
  const config = c.get("config");
  const signed = readSignedHeaders(c.req.raw.headers);
  const nowSeconds = Math.floor(nowMs / 1000);

  let identity: Awaited<ReturnType<typeof verifyIdentityCached>>;
  try {
    identity = await verifyIdentityCached(signed.token, config, nowSeconds);
  } catch (err) {
    if (err instanceof TokenError)
      throw new RelayError(
        err.code,
        err.code === "token_expired" ? "identity token expired" : "identity token rejected",
      );
    throw err;
  }
  const { claims } = identity;
  // Part of the token step: the id must belong to the token's registry (auth/registry-binding.ts).
  const registries = sources.registries(c.env, claims.sub);
  const { unbound } = await assertRegistryAllowed(registries, claims.sub, claims.iss, nowMs);

  await assertNotRevoked(
    sources.revocations,
    claims.jti,
    claims.sub,
    nowMs,
    config.RELAY_REVOCATION_MAX_STALE_SECONDS * 1000,
  );

  if (Math.abs(nowSeconds - Number(signed.timestamp)) > PROTOCOL_LIMITS.timestampSkewSeconds) {
    throw new RelayError("timestamp_skew", "X-Claw-Timestamp is outside the allowed skew");
  }

  const body = await readBodyCapped(c.req.raw, config.RELAY_MAX_BODY_BYTES);
  const hasBody = body !== null && body.byteLength > 0;
  if (hasBody && signed.contentDigest === null) {
    throw new RelayError("missing_credentials", "Content-Digest header required with a body");
  }
  if (signed.contentDigest !== null && signed.contentDigest !== (await contentDigest(body ?? new Uint8Array(0)))) {
    throw new RelayError("digest_mismatch", "Content-Digest does not match the body");
  }

  const url = new URL(c.req.url);
  const canonical = canonicalString({
    method: c.req.method,
    host: c.req.header("host") ?? url.host,
    pathAndQuery: rawPathAndQuery(c.req.url),
    timestamp: signed.timestamp,
    nonce: signed.nonce,
    contentDigest: signed.contentDigest ?? "",
    tokenHash: identity.tokenHash,
    correlationId: signed.correlationId ?? "",
    idempotencyKey: signed.idempotencyKey ?? "",
  });
  if (!(await verifyCanonical(identity.publicKey, canonical, signed.signature))) {
    throw new RelayError("invalid_signature", "signature does not verify");
  }
  // A verified request to its own id is what makes an id known (PROTOCOL.md §4): it binds the
  // id to this token's registry when nothing did before.
  if (unbound && (c.req.param("id") ?? c.req.param("to")) === claims.sub) {
    await bindFirst(registries, claims.sub, claims.iss, nowMs);
  }

  c.set("body", body);
  c.set("caller", {
    kind: "agent",
    agentId: claims.sub,
    relay: claims.relay,
    jti: claims.jti,
    tokenExpiresAt: claims.exp,
    nonce: signed.nonce,
    correlationId: c.get("correlationId"),
  });
}

/**
 * The path and query exactly as sent. `new URL()` would drop a lone "?" and normalise
 * percent-encoding, changing the bytes that were signed, so cut them out of the raw URL.
 */
export function rawPathAndQuery(requestUrl: string): string {
  const schemeEnd = requestUrl.indexOf("//");
  const pathStart = requestUrl.indexOf("/", schemeEnd < 0 ? 0 : schemeEnd + 2);
  if (pathStart < 0) return "/";
  const hash = requestUrl.indexOf("#", pathStart);
  return hash < 0 ? requestUrl.slice(pathStart) : requestUrl.slice(pathStart, hash);
}
