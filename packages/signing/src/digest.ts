import { base64Encode, base64urlEncode } from "./base64.js";

const encoder = new TextEncoder();

/**
 * Bytes WebCrypto accepts: strings become UTF-8; views over a SharedArrayBuffer (which
 * WebCrypto rejects) are copied, any other view is used as is.
 */
export function toBytes(data: Uint8Array | string): Uint8Array<ArrayBuffer> {
  // TextEncoder always allocates a fresh ArrayBuffer; workers-types declare it as ArrayBufferLike.
  if (typeof data === "string") return encoder.encode(data) as Uint8Array<ArrayBuffer>;
  if (Object.prototype.toString.call(data.buffer) === "[object ArrayBuffer]") return data as Uint8Array<ArrayBuffer>;
  return new Uint8Array(data);
}

export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", toBytes(data)));
}

/** RFC 9530 `Content-Digest` value over the exact body bytes: `sha-256=:<base64>:`. */
export async function contentDigest(body: Uint8Array | string): Promise<string> {
  return `sha-256=:${base64Encode(await sha256(body))}:`;
}

/** The identity token's line in the canonical string: base64url(SHA-256(token)). */
export async function tokenHash(token: string): Promise<string> {
  return base64urlEncode(await sha256(token));
}
