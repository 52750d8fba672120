import type { IncomingHttpHeaders } from "node:http";
import {
  canonicalString,
  contentDigest,
  type Ed25519PublicJwk,
  generateKeyPair,
  tokenHash,
  verifyCanonical,
} from "@clawrelay/signing";
import { createIdentitySigner, type Signer } from "../../../src/daemon/signer.js";

export const TEST_TOKEN = "test.identity.token";

export interface TestIdentity {
  signer: Signer;
  publicJwk: Ed25519PublicJwk;
  /** Check a request the way a relay does: digest from the bytes received, then the signature. */
  verify(request: { method: string; path: string; headers: IncomingHttpHeaders; body?: string }): Promise<boolean>;
}

/**
 * A real signer: a fresh Ed25519 key pair and a placeholder token. The stand-in relays do
 * not verify tokens (that is the relay's job); they do verify digest and signature.
 */
export async function testIdentity(token = TEST_TOKEN): Promise<TestIdentity> {
  const { publicJwk, privateJwk } = await generateKeyPair();
  const signer = await createIdentitySigner({ token, privateJwk });
  const header = (headers: IncomingHttpHeaders, name: string) => {
    const value = headers[name];
    return typeof value === "string" ? value : "";
  };
  return {
    signer,
    publicJwk,
    async verify({ method, path, headers, body }) {
      const digest = header(headers, "content-digest");
      if (body !== undefined && body !== "" && digest !== (await contentDigest(body))) return false;
      const canonical = canonicalString({
        method,
        host: header(headers, "host"),
        pathAndQuery: path,
        timestamp: header(headers, "x-claw-timestamp"),
        nonce: header(headers, "x-claw-nonce"),
        contentDigest: digest,
        tokenHash: await tokenHash(token),
        correlationId: header(headers, "x-claw-correlation-id"),
        idempotencyKey: header(headers, "x-claw-idempotency-key"),
      });
      return verifyCanonical(publicJwk, canonical, header(headers, "x-claw-signature"));
    },
  };
}

export async function testSigner(token = TEST_TOKEN): Promise<Signer> {
  return (await testIdentity(token)).signer;
}
