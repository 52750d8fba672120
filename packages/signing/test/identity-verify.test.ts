import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  base64urlDecode,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  generateKeyPair,
  issueIdentityToken,
  verifyIdentityToken,
} from "../src/index.js";
import {
  AUDIENCE,
  claimsFor,
  expectRejected,
  makeRegistry,
  NOW,
  signRaw,
  type TestRegistry,
  trusting,
  unsigned,
  without,
} from "./support/tokens.js";

const DAY = 86_400;

let registry: TestRegistry;
let other: TestRegistry;
let agentPublic: Ed25519PublicJwk;
let agentPrivate: Ed25519PrivateJwk;
beforeAll(async () => {
  registry = await makeRegistry("registry-a");
  other = await makeRegistry("registry-b");
  ({ publicJwk: agentPublic, privateJwk: agentPrivate } = await generateKeyPair());
});

const options = (overrides: Partial<Parameters<typeof verifyIdentityToken>[1]> = {}) => ({
  registries: trusting(registry, other),
  audience: AUDIENCE,
  now: NOW,
  ...overrides,
});
const header = () => ({ typ: "agent+jwt", kid: registry.kid });
const sign = (claims: Record<string, unknown>, h: Record<string, unknown> = header()) =>
  signRaw(claims, registry.privateJwk, h);

describe("verifyIdentityToken accepts", () => {
  it("a well-formed token and returns exactly the protocol claims", async () => {
    const claims = claimsFor(registry, agentPublic);
    expect(await verifyIdentityToken(await sign(claims), options())).toEqual(claims);
  });

  it("a token from the second trusted registry", async () => {
    const token = await signRaw(claimsFor(other, agentPublic), other.privateJwk, { typ: "agent+jwt", kid: other.kid });
    expect((await verifyIdentityToken(token, options())).iss).toBe("registry-b");
  });

  it("a token expired less than the 60 s tolerance ago", async () => {
    const token = await sign(claimsFor(registry, agentPublic, { iat: NOW - 3600, exp: NOW - 30 }));
    expect((await verifyIdentityToken(token, options())).exp).toBe(NOW - 30);
  });

  it("iat and nbf slightly in the future, within tolerance", async () => {
    const token = await sign(claimsFor(registry, agentPublic, { iat: NOW + 30, nbf: NOW + 30, exp: NOW + 3600 }));
    expect((await verifyIdentityToken(token, options())).iat).toBe(NOW + 30);
  });

  it("a lifetime of exactly 90 days", async () => {
    const token = await sign(claimsFor(registry, agentPublic, { iat: NOW, exp: NOW + 90 * DAY }));
    expect((await verifyIdentityToken(token, options())).exp).toBe(NOW + 90 * DAY);
  });
});

describe("verifyIdentityToken rejects", () => {
  it("alg none", async () => {
    const token = unsigned({ alg: "none", typ: "agent+jwt", kid: registry.kid }, claimsFor(registry, agentPublic));
    await expectRejected(token, options(), "invalid_token");
  });

  it("HS256 signed with the registry public key as the secret", async () => {
    const claims = claimsFor(registry, agentPublic);
    for (const secret of [base64urlDecode(registry.publicJwk.x), new TextEncoder().encode(registry.publicJwk.x)]) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", ...header() }).sign(secret);
      await expectRejected(token, options(), "invalid_token");
    }
  });

  it("an unknown kid", async () => {
    const token = await sign(claimsFor(registry, agentPublic), { typ: "agent+jwt", kid: "registry-a-2" });
    await expectRejected(token, options(), "invalid_token");
  });

  it("a missing kid, even with a single key", async () => {
    const token = await sign(claimsFor(registry, agentPublic), { typ: "agent+jwt" });
    await expectRejected(token, options({ registries: trusting(registry) }), "invalid_token");
  });

  it("another audience (or aud as an array)", async () => {
    await expectRejected(await sign(claimsFor(registry, agentPublic, { aud: "other" })), options(), "invalid_token");
    await expectRejected(await sign(claimsFor(registry, agentPublic, { aud: [AUDIENCE] })), options(), "invalid_token");
  });

  it("an untrusted registry", async () => {
    const rogue = await makeRegistry("rogue-registry");
    const token = await signRaw(claimsFor(rogue, agentPublic), rogue.privateJwk, { typ: "agent+jwt", kid: rogue.kid });
    await expectRejected(token, options(), "invalid_token");
  });

  it("an issuer naming an Object.prototype member", async () => {
    for (const iss of ["__proto__", "constructor", "toString"]) {
      await expectRejected(await sign(claimsFor(registry, agentPublic, { iss })), options(), "invalid_token");
    }
  });

  it("a signature by another registry's key under this registry's iss and kid", async () => {
    const token = await signRaw(claimsFor(registry, agentPublic), other.privateJwk, header());
    await expectRejected(token, options(), "invalid_token");
  });

  it("a kid moved to another key (the import cache is keyed by the key too)", async () => {
    const token = await sign(claimsFor(registry, agentPublic));
    await verifyIdentityToken(token, options());
    const rotated = { [registry.iss]: { keys: [{ ...other.publicJwk, kid: registry.kid }] } };
    await expectRejected(token, options({ registries: rotated }), "invalid_token");
  });

  it.each([["JWT"], ["application/agent+jwt"], ["receipt+jwt"], [undefined]])("typ %s", async (typ) => {
    const token = await sign(claimsFor(registry, agentPublic), { typ, kid: registry.kid });
    await expectRejected(token, options(), "invalid_token");
  });

  it.each(["iss", "sub", "aud", "iat", "exp", "jti", "cnf", "relay"])("a missing %s claim", async (claim) => {
    await expectRejected(await sign(without(claimsFor(registry, agentPublic), claim)), options(), "invalid_token");
  });

  it("cnf holding a private key", async () => {
    const token = await sign(claimsFor(registry, agentPublic, { cnf: { jwk: agentPrivate } }));
    await expectRejected(token, options(), "invalid_token");
  });

  it.each([
    ["no jwk", {}],
    ["X25519", { jwk: { ...agentPublic, crv: "X25519" } }],
    ["short x", { jwk: { ...agentPublic, x: "AAAA" } }],
  ])("cnf with %s", async (_why, cnf) => {
    await expectRejected(await sign(claimsFor(registry, agentPublic, { cnf })), options(), "invalid_token");
  });

  it("a lifetime over 90 days", async () => {
    const token = await sign(claimsFor(registry, agentPublic, { iat: NOW, exp: NOW + 90 * DAY + 1 }));
    await expectRejected(token, options(), "invalid_token");
  });

  it("exp not after iat", async () => {
    await expectRejected(
      await sign(claimsFor(registry, agentPublic, { iat: NOW, exp: NOW })),
      options(),
      "invalid_token",
    );
  });

  it("an expired token as token_expired", async () => {
    const token = await sign(claimsFor(registry, agentPublic, { iat: NOW - 3600, exp: NOW - 61 }));
    await expectRejected(token, options(), "token_expired");
    const recent = await sign(claimsFor(registry, agentPublic, { iat: NOW - 3600, exp: NOW - 30 }));
    await expectRejected(recent, options({ clockToleranceSeconds: 0 }), "token_expired");
  });

  it("iat beyond the tolerance in the future", async () => {
    const token = await sign(claimsFor(registry, agentPublic, { iat: NOW + 61, exp: NOW + 3600 }));
    await expectRejected(token, options(), "invalid_token");
  });

  it("nbf beyond the tolerance in the future", async () => {
    const token = await sign(claimsFor(registry, agentPublic, { nbf: NOW + 61 }));
    await expectRejected(token, options(), "invalid_token");
  });

  it.each(["Alice.agent", "al", "-alice", "alice agent", "a".repeat(65)])("sub %j", async (sub) => {
    await expectRejected(await sign(claimsFor(registry, agentPublic, { sub })), options(), "invalid_token");
  });

  it.each([
    "https://relay.example.com/",
    "https://relay.example.com/v1",
    "ftp://relay.example.com",
    "relay.example.com",
    "https://Relay.example.com",
    "https://relay.example.com:443",
  ])("relay %j", async (relay) => {
    await expectRejected(await sign(claimsFor(registry, agentPublic, { relay })), options(), "invalid_token");
  });

  it.each(["", "garbage", "a.b.c", "e30.e30.", "x".repeat(20_000)])("garbage %j", async (token) => {
    await expectRejected(token, options(), "invalid_token");
  });

  it("a payload swapped under a valid signature", async () => {
    const [h, , s] = (await sign(claimsFor(registry, agentPublic))).split(".");
    const [, p] = (await sign(claimsFor(registry, agentPublic, { sub: "mallory.agent" }))).split(".");
    await expectRejected(`${h}.${p}.${s}`, options(), "invalid_token");
  });
});

describe("issueIdentityToken", () => {
  const input = () => ({
    registryPrivateJwk: registry.privateJwk,
    iss: registry.iss,
    sub: "alice.agent",
    aud: AUDIENCE,
    relay: "https://relay.example.com",
    agentPublicJwk: agentPublic,
    lifetimeSeconds: 3600,
    now: NOW,
  });

  it("issues a token that verifies, with a ULID jti by default", async () => {
    const claims = await verifyIdentityToken(await issueIdentityToken(input()), options());
    expect(claims).toMatchObject({ sub: "alice.agent", iat: NOW, exp: NOW + 3600, cnf: { jwk: agentPublic } });
    expect(claims.jti).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("refuses a lifetime over 90 days, a bad sub, a bad relay and a registry key without kid", async () => {
    await expect(issueIdentityToken({ ...input(), lifetimeSeconds: 90 * DAY + 1 })).rejects.toThrow(RangeError);
    await expect(issueIdentityToken({ ...input(), lifetimeSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(issueIdentityToken({ ...input(), sub: "Bad Agent" })).rejects.toThrow(TypeError);
    await expect(issueIdentityToken({ ...input(), relay: "https://relay.example.com/" })).rejects.toThrow(TypeError);
    const { kid: _kid, ...noKid } = registry.privateJwk;
    await expect(issueIdentityToken({ ...input(), registryPrivateJwk: noKid })).rejects.toThrow(TypeError);
    await expect(issueIdentityToken({ ...input(), agentPublicJwk: agentPrivate })).rejects.toThrow(TypeError);
  });
});
