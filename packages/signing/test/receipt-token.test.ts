import { createLocalJWKSet, decodeJwt, decodeProtectedHeader } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  generateKeyPair,
  importPublicKey,
  issueIdentityToken,
  signReceiptToken,
  TokenError,
  type TokenErrorCode,
  verifyIdentityToken,
  verifyReceiptToken,
} from "../src/index.js";
import { NOW, signRaw, unsigned } from "./support/tokens.js";

const FROM = "https://relay-a.example.com";
const TO = "https://relay-b.example.com:8443";
const receipt = {
  receiptId: "01JH3A0000000000000000000R",
  messageId: "01JH3A0000000000000000000M",
  correlationId: "corr-receipt-01",
  status: "delivered",
  recipient: "bob.agent",
  at: 1_767_225_600_000,
  attempts: 1,
  enqueuedAt: 1_767_225_500_000,
};

let relayPublic: Ed25519PublicJwk;
let relayPrivate: Ed25519PrivateJwk;
let strangerPrivate: Ed25519PrivateJwk;
beforeAll(async () => {
  ({ publicJwk: relayPublic, privateJwk: relayPrivate } = await generateKeyPair("relay-a-1"));
  ({ privateJwk: strangerPrivate } = await generateKeyPair("relay-a-1"));
});

const verifyOptions = () => ({ jwks: { keys: [relayPublic] }, issuer: FROM, audience: TO, now: NOW });
const sign = (overrides: Partial<Parameters<typeof signReceiptToken>[0]> = {}) =>
  signReceiptToken({ privateJwk: relayPrivate, iss: FROM, aud: TO, receipt, now: NOW, ...overrides });

async function expectRejected(token: string, options: Parameters<typeof verifyReceiptToken>[1], code: TokenErrorCode) {
  const outcome = await verifyReceiptToken(token, options).then(
    () => new Error("receipt token was accepted"),
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(TokenError);
  expect((outcome as TokenError).code).toBe(code);
}

describe("receipt tokens", () => {
  it("round-trip the receipt with a JWKS", async () => {
    const token = await sign({ jti: "01JH3A0000000000000000000J" });
    expect(await verifyReceiptToken(token, verifyOptions())).toEqual({
      receipt,
      iss: FROM,
      jti: "01JH3A0000000000000000000J",
    });
  });

  it("verify with a jose key resolver too", async () => {
    const token = await sign();
    const fromJwksSet = await verifyReceiptToken(token, {
      ...verifyOptions(),
      jwks: createLocalJWKSet({ keys: [relayPublic] }),
    });
    expect(fromJwksSet.receipt).toEqual(receipt);
    const key = await importPublicKey(relayPublic);
    const fromFunction = await verifyReceiptToken(token, { ...verifyOptions(), jwks: async () => key });
    expect(fromFunction.jti).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("carry typ receipt+jwt, kid and a default five-minute lifetime", async () => {
    const token = await sign();
    expect(decodeProtectedHeader(token)).toEqual({ alg: "EdDSA", typ: "receipt+jwt", kid: "relay-a-1" });
    expect(decodeJwt(token)).toMatchObject({ iss: FROM, aud: TO, iat: NOW, exp: NOW + 300, receipt });
  });

  it("reject another issuer, another audience and an unknown signer", async () => {
    const token = await sign();
    await expectRejected(token, { ...verifyOptions(), issuer: "https://relay-c.example.com" }, "invalid_token");
    await expectRejected(token, { ...verifyOptions(), audience: "https://relay-c.example.com" }, "invalid_token");
    // A forgery under the trusted relay's kid fails its signature check: its own code.
    await expectRejected(await sign({ privateJwk: strangerPrivate }), verifyOptions(), "invalid_signature");
    await expectRejected(
      await sign({ privateJwk: { ...relayPrivate, kid: "relay-a-2" } }),
      verifyOptions(),
      "invalid_token",
    );
  });

  it("reject an expired token as token_expired", async () => {
    await expectRejected(await sign({ now: NOW - 400 }), verifyOptions(), "token_expired");
  });

  it("reject alg none, a wrong typ and a missing receipt claim", async () => {
    const claims = { iss: FROM, aud: TO, iat: NOW, exp: NOW + 300, jti: "j", receipt };
    await expectRejected(
      unsigned({ alg: "none", typ: "receipt+jwt", kid: "relay-a-1" }, claims),
      verifyOptions(),
      "invalid_token",
    );
    await expectRejected(
      await signRaw(claims, relayPrivate, { typ: "JWT", kid: "relay-a-1" }),
      verifyOptions(),
      "invalid_token",
    );
    const { receipt: _dropped, ...noReceipt } = claims;
    await expectRejected(
      await signRaw(noReceipt, relayPrivate, { typ: "receipt+jwt", kid: "relay-a-1" }),
      verifyOptions(),
      "invalid_token",
    );
  });

  it("are not identity tokens and identity tokens are not receipts", async () => {
    const receiptToken = await sign();
    const registries = { [FROM]: { keys: [relayPublic] } };
    await expect(verifyIdentityToken(receiptToken, { registries, audience: TO, now: NOW })).rejects.toMatchObject({
      code: "invalid_token",
    });
    const agent = await generateKeyPair();
    const identity = await issueIdentityToken({
      registryPrivateJwk: relayPrivate,
      iss: FROM,
      sub: "alice.agent",
      aud: TO,
      relay: FROM,
      agentPublicJwk: agent.publicJwk,
      lifetimeSeconds: 300,
      now: NOW,
    });
    await expectRejected(identity, verifyOptions(), "invalid_token");
  });

  it("refuse to sign without kid, with non-origin parties or an overlong lifetime", async () => {
    const { kid: _kid, ...noKid } = relayPrivate;
    await expect(sign({ privateJwk: noKid })).rejects.toThrow(TypeError);
    await expect(sign({ iss: "relay-a" })).rejects.toThrow(TypeError);
    await expect(sign({ aud: `${TO}/` })).rejects.toThrow(TypeError);
    await expect(sign({ lifetimeSeconds: 86_401 })).rejects.toThrow(RangeError);
  });
});

describe("key set failures", () => {
  it("a key set that timed out is not a verdict on the token: it is passed on, not made invalid_token", async () => {
    const { toTokenError } = await import("../src/jwt-common.js");
    const { errors } = await import("jose");
    const timeout = new errors.JWKSTimeout();
    expect(toTokenError(timeout)).toBe(timeout);
    const other = toTokenError(new errors.JWKSNoMatchingKey());
    expect(other).toBeInstanceOf(TokenError);
    expect((other as TokenError).code).toBe("invalid_token");
  });
});
