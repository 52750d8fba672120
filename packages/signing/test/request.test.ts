import { beforeAll, describe, expect, it } from "vitest";
import {
  type CanonicalInput,
  canonicalString,
  contentDigest,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  signCanonical,
  signRequest,
  tokenHash,
  verifyCanonical,
} from "../src/index.js";

const TOKEN = "header.payload.signature-of-some-identity-token";

let publicJwk: Ed25519PublicJwk;
let privateJwk: Ed25519PrivateJwk;
let otherPublicJwk: Ed25519PublicJwk;
beforeAll(async () => {
  ({ publicJwk, privateJwk } = await generateKeyPair("agent-key-1"));
  ({ publicJwk: otherPublicJwk } = await generateKeyPair());
});

/** What a verifier rebuilds from the received request: the canonical input, from headers and URL. */
async function canonicalFromHeaders(
  method: string,
  url: string,
  headers: Record<string, string>,
): Promise<CanonicalInput> {
  const parsed = new URL(url);
  return {
    method,
    host: parsed.host,
    pathAndQuery: parsed.pathname + parsed.search,
    timestamp: headers["x-claw-timestamp"] ?? "",
    nonce: headers["x-claw-nonce"] ?? "",
    contentDigest: headers["content-digest"] ?? "",
    tokenHash: await tokenHash((headers.authorization ?? "").replace(/^Claw /, "")),
    correlationId: headers["x-claw-correlation-id"] ?? "",
    idempotencyKey: headers["x-claw-idempotency-key"] ?? "",
  };
}

describe("canonicalString", () => {
  const input: CanonicalInput = {
    method: "post",
    host: "Relay.Example.com:8443",
    pathAndQuery: "/v1/Agents/x?B=1",
    timestamp: "1",
    nonce: "n",
    contentDigest: "",
    tokenHash: "h",
    correlationId: "",
    idempotencyKey: "",
  };

  it("is ten lines, method upper, host lower, path untouched, no trailing newline", () => {
    expect(canonicalString(input)).toBe("CLAW-SIG-V1\nPOST\nrelay.example.com:8443\n/v1/Agents/x?B=1\n1\nn\n\nh\n\n");
    expect(canonicalString(input).split("\n")).toHaveLength(10);
  });

  it.each(["\n", "\r"])("refuses a value holding a line break (%j)", (lineBreak) => {
    expect(() => canonicalString({ ...input, correlationId: `a${lineBreak}b` })).toThrow(TypeError);
  });
});

describe("signRequest", () => {
  const url = "https://Relay.Example.com:8443/v1/agents/bob.agent/messages?x=%7E1";

  it("signs what verifyCanonical accepts when rebuilt from the headers", async () => {
    const { headers, canonical } = await signRequest({
      token: TOKEN,
      privateKey: privateJwk,
      method: "post",
      url,
      body: '{"payload":"ü"}',
      correlationId: "corr-roundtrip-01",
      idempotencyKey: "idem-roundtrip-01",
    });
    const rebuilt = await canonicalFromHeaders("POST", url, headers);
    expect(canonicalString(rebuilt)).toBe(canonical);
    expect(rebuilt.host).toBe("relay.example.com:8443");
    expect(rebuilt.pathAndQuery).toBe("/v1/agents/bob.agent/messages?x=%7E1");
    expect(headers["content-digest"]).toBe(await contentDigest('{"payload":"ü"}'));
    expect(await verifyCanonical(publicJwk, canonical, headers["x-claw-signature"] ?? "")).toBe(true);
    expect(await verifyCanonical(otherPublicJwk, canonical, headers["x-claw-signature"] ?? "")).toBe(false);
  });

  const tamperings: [keyof CanonicalInput, string][] = [
    ["method", "PUT"],
    ["host", "relay.example.com"],
    ["pathAndQuery", "/v1/agents/bob.agent/messages?x=%7E2"],
    ["timestamp", "1767229201"],
    ["nonce", "bm9uY2Utb25lLTAxMjM0NTY4"],
    ["contentDigest", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"],
    ["tokenHash", "l2sbBvzWk1qvx-vMJp1hvfvFksjzKrsW3WFpXJrFjyU"],
    ["correlationId", "corr-roundtrip-02"],
    ["idempotencyKey", ""],
  ];
  it.each(tamperings)("fails verification when %s changes", async (field, value) => {
    const { headers } = await signRequest({
      token: TOKEN,
      privateKey: privateJwk,
      method: "POST",
      url,
      body: "{}",
      timestamp: 1767229200,
      correlationId: "corr-roundtrip-01",
      idempotencyKey: "idem-roundtrip-01",
    });
    const rebuilt = await canonicalFromHeaders("POST", url, headers);
    const signature = headers["x-claw-signature"] ?? "";
    expect(await verifyCanonical(publicJwk, canonicalString(rebuilt), signature)).toBe(true);
    expect(rebuilt[field]).not.toBe(value);
    expect(await verifyCanonical(publicJwk, canonicalString({ ...rebuilt, [field]: value }), signature)).toBe(false);
  });

  it("sends no digest and no optional headers when they are absent", async () => {
    const { headers, canonical } = await signRequest({
      token: TOKEN,
      privateKey: privateJwk,
      method: "GET",
      url: "http://127.0.0.1:8787/v1/agents/alice.agent/connect",
      body: null,
    });
    expect(Object.keys(headers).sort()).toEqual([
      "authorization",
      "x-claw-nonce",
      "x-claw-signature",
      "x-claw-timestamp",
    ]);
    expect(canonical.split("\n")[2]).toBe("127.0.0.1:8787");
    expect(canonical.split("\n")[6]).toBe("");
    const now = Math.floor(Date.now() / 1000);
    expect(Math.abs(Number(headers["x-claw-timestamp"]) - now)).toBeLessThanOrEqual(5);
  });

  it("gives an empty-string body the digest of zero bytes, same as empty bytes", async () => {
    const base = {
      token: TOKEN,
      privateKey: privateJwk,
      method: "POST",
      url,
      timestamp: 1,
      nonce: "bm9uY2Utb25lLTAxMjM0NTY3",
    };
    const fromString = await signRequest({ ...base, body: "" });
    const fromBytes = await signRequest({ ...base, body: new Uint8Array(0) });
    expect(fromString.headers["content-digest"]).toBe("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
    expect(fromBytes.headers).toEqual(fromString.headers);
  });

  it("signs identically with an imported CryptoKey and uses the host override", async () => {
    const base = {
      token: TOKEN,
      method: "GET",
      url,
      timestamp: 5,
      nonce: "bm9uY2Utb25lLTAxMjM0NTY3",
      host: "Edge.Example:1",
    };
    const withJwk = await signRequest({ ...base, privateKey: privateJwk });
    const withKey = await signRequest({ ...base, privateKey: await importPrivateKey(privateJwk) });
    expect(withKey).toEqual(withJwk);
    expect(withJwk.canonical.split("\n")[2]).toBe("edge.example:1");
  });

  it("drops the fragment, keeps the query as serialized, refuses a lone '?' and fractional timestamps", async () => {
    const base = { token: TOKEN, privateKey: privateJwk, method: "GET", timestamp: 1 };
    const { canonical } = await signRequest({ ...base, url: "https://r.example/a/b?q=%20x#frag" });
    expect(canonical.split("\n")[3]).toBe("/a/b?q=%20x");
    await expect(signRequest({ ...base, url: "https://r.example/a?" })).rejects.toThrow(TypeError);
    await expect(signRequest({ ...base, url: "https://r.example/a?#x" })).rejects.toThrow(TypeError);
    await expect(signRequest({ ...base, url: "https://r.example/a", timestamp: 1.5 })).rejects.toThrow(TypeError);
  });
});

describe("signCanonical / verifyCanonical", () => {
  it("is deterministic and accepts a CryptoKey or a JWK on both sides", async () => {
    const first = await signCanonical(privateJwk, "text");
    expect(await signCanonical(await importPrivateKey(privateJwk), "text")).toBe(first);
    expect(first).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(await verifyCanonical(await importPublicKey(publicJwk), "text", first)).toBe(true);
    expect(await verifyCanonical(publicJwk, "text!", first)).toBe(false);
  });

  it.each([
    ["empty", ""],
    ["short", "AAAA"],
    ["one char short", "A".repeat(85)],
    ["padded", `${"A".repeat(86)}==`],
    ["standard alphabet", `${"+".repeat(86)}`],
    ["not base64", "!".repeat(86)],
    ["65 bytes", "A".repeat(87)],
  ])("returns false, without throwing, for a malformed signature (%s)", async (_why, signature) => {
    expect(await verifyCanonical(publicJwk, "text", signature)).toBe(false);
  });

  it("returns false for a flipped bit", async () => {
    const signature = await signCanonical(privateJwk, "text");
    const flipped = signature[10] === "A" ? "B" : "A";
    expect(await verifyCanonical(publicJwk, "text", signature.slice(0, 10) + flipped + signature.slice(11))).toBe(
      false,
    );
  });

  it("throws on a private key given for verification", async () => {
    await expect(verifyCanonical(await importPrivateKey(privateJwk), "text", "A".repeat(86))).rejects.toThrow(
      TypeError,
    );
  });
});

describe("keys", () => {
  it("generateKeyPair gives a public JWK without d and a private JWK with it", async () => {
    const pair = await generateKeyPair("kid-1");
    expect(Object.keys(pair.publicJwk).sort()).toEqual(["crv", "kid", "kty", "x"]);
    expect(pair.privateJwk).toMatchObject({ ...pair.publicJwk, d: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(await verifyCanonical(pair.publicJwk, "x", await signCanonical(pair.privateJwk, "x"))).toBe(true);
  });

  it("importPublicKey accepts a private JWK but only uses its public half", async () => {
    const key = await importPublicKey(privateJwk);
    expect(key.type).toBe("public");
  });

  it.each([
    ["wrong curve", { kty: "OKP", crv: "X25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }],
    ["wrong kty", { kty: "EC", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }],
    ["short x", { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHU" }],
    ["x not base64url", { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS+7TyWQHOg7hcvPapiMlrwIaaPcHURo" }],
    ["no x", { kty: "OKP", crv: "Ed25519" }],
  ])("importPublicKey throws on a bad JWK (%s)", async (_why, jwk) => {
    await expect(importPublicKey(jwk as unknown as Ed25519PublicJwk)).rejects.toThrow(TypeError);
  });

  it("importPrivateKey throws without d", async () => {
    await expect(importPrivateKey(publicJwk as Ed25519PrivateJwk)).rejects.toThrow(TypeError);
  });
});
