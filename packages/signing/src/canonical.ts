import { SIGNATURE_VERSION } from "@clawrelay/protocol";
import type { CryptoKey } from "jose";
import { base64urlDecode, base64urlEncode } from "./base64.js";
import { toBytes } from "./digest.js";
import {
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  importPrivateKey,
  importPublicKey,
  isCryptoKey,
} from "./jwk.js";

const ED25519 = { name: "Ed25519" } as const;

/** The lines of the canonical string (PROTOCOL.md §3). Absent optional values are "". */
export interface CanonicalInput {
  method: string;
  host: string;
  pathAndQuery: string;
  timestamp: string;
  nonce: string;
  contentDigest: string;
  tokenHash: string;
  correlationId: string;
  idempotencyKey: string;
}

/**
 * The string both sides sign and verify. A line break inside a value would let one request's
 * lines be read as another's, so values holding one are refused (HTTP header values and
 * request targets can never carry one, so a real request never hits this).
 */
export function canonicalString(input: CanonicalInput): string {
  const lines = [
    SIGNATURE_VERSION,
    input.method.toUpperCase(),
    input.host.toLowerCase(),
    input.pathAndQuery,
    input.timestamp,
    input.nonce,
    input.contentDigest,
    input.tokenHash,
    input.correlationId,
    input.idempotencyKey,
  ];
  for (const line of lines) {
    if (line.includes("\n") || line.includes("\r"))
      throw new TypeError("canonical string values must not contain line breaks");
  }
  return lines.join("\n");
}

export async function signCanonical(key: CryptoKey | Ed25519PrivateJwk, canonical: string): Promise<string> {
  const privateKey = isCryptoKey(key) ? key : await importPrivateKey(key);
  const signature = await crypto.subtle.sign(ED25519, privateKey, toBytes(canonical));
  return base64urlEncode(new Uint8Array(signature));
}

/**
 * True only for a valid signature. A malformed signature (bad base64url, wrong length) is simply
 * false; a wrong *key* is a programming error and throws.
 */
export async function verifyCanonical(
  key: CryptoKey | Ed25519PublicJwk,
  canonical: string,
  signature: string,
): Promise<boolean> {
  const publicKey = isCryptoKey(key) ? key : await importPublicKey(key);
  if (publicKey.type !== "public") throw new TypeError("verifyCanonical needs a public key");
  let signatureBytes: Uint8Array<ArrayBuffer>;
  try {
    signatureBytes = base64urlDecode(signature);
  } catch {
    return false;
  }
  if (signatureBytes.length !== 64) return false;
  try {
    return await crypto.subtle.verify(ED25519, publicKey, signatureBytes, toBytes(canonical));
  } catch {
    return false;
  }
}

/** 24 random bytes, base64url: 32 characters, inside the 16–64 the protocol allows. */
export function randomNonce(): string {
  return base64urlEncode(crypto.getRandomValues(new Uint8Array(24)));
}
