import { AUTH_SCHEME, HEADERS } from "@clawrelay/protocol";
import type { CryptoKey } from "jose";
import { canonicalString, randomNonce, signCanonical } from "./canonical.js";
import { contentDigest, tokenHash } from "./digest.js";
import type { Ed25519PrivateJwk } from "./jwk.js";

export interface SignRequestInput {
  token: string;
  privateKey: CryptoKey | Ed25519PrivateJwk;
  method: string;
  url: string | URL;
  /** `null`/absent: no body and no Content-Digest. `""` is a body (an empty one) and gets a digest. */
  body?: Uint8Array | string | null;
  correlationId?: string;
  idempotencyKey?: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  nonce?: string;
  /** Host line override; default `new URL(url).host`, which is what fetch sends as Host. */
  host?: string;
}

/**
 * The request target fetch puts on the wire for `url`: path plus "?query", never the fragment.
 *
 * A lone "?" (present but empty query) is refused: undici (Node's fetch) drops it from the
 * request line while workerd's fetch sends it, and the verifier signs what it receives, so the
 * same signature would pass in one runtime and fail in the other.
 */
export function requestTarget(url: URL): string {
  // The first "#" of a serialized URL always starts the fragment ("#" elsewhere is percent-encoded).
  const withoutFragment = url.href.split("#", 1)[0] ?? url.href;
  if (url.search === "" && withoutFragment.endsWith("?")) {
    throw new TypeError("cannot sign a URL with an empty query ('?' with nothing after it); drop the '?'");
  }
  return url.pathname + url.search;
}

/** Signs one agent request (PROTOCOL.md §3) and returns its headers, with lower-case names. */
export async function signRequest(
  input: SignRequestInput,
): Promise<{ headers: Record<string, string>; canonical: string }> {
  const url = typeof input.url === "string" ? new URL(input.url) : input.url;
  const seconds = input.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new TypeError("timestamp must be whole unix seconds");
  const timestamp = String(seconds);
  const nonce = input.nonce ?? randomNonce();
  const digest = input.body === undefined || input.body === null ? "" : await contentDigest(input.body);
  const canonical = canonicalString({
    method: input.method,
    host: input.host ?? url.host,
    pathAndQuery: requestTarget(url),
    timestamp,
    nonce,
    contentDigest: digest,
    tokenHash: await tokenHash(input.token),
    correlationId: input.correlationId ?? "",
    idempotencyKey: input.idempotencyKey ?? "",
  });
  const headers: Record<string, string> = {
    [HEADERS.authorization]: `${AUTH_SCHEME} ${input.token}`,
    [HEADERS.timestamp]: timestamp,
    [HEADERS.nonce]: nonce,
  };
  if (digest !== "") headers[HEADERS.contentDigest] = digest;
  headers[HEADERS.signature] = await signCanonical(input.privateKey, canonical);
  if (input.correlationId !== undefined) headers[HEADERS.correlationId] = input.correlationId;
  if (input.idempotencyKey !== undefined) headers[HEADERS.idempotencyKey] = input.idempotencyKey;
  return { headers, canonical };
}
