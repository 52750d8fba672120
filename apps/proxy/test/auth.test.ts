import { exports } from "cloudflare:workers";
import { contentDigest } from "@clawrelay/signing";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  errorCode,
  makeAgent,
  ORIGIN,
  rawToken,
  registry,
  sendMessage,
  signedCall,
  standardClaims,
  type TestAgent,
  unsignedToken,
} from "./support/agents.js";

const nowSeconds = () => Math.floor(Date.now() / 1000);
let alice: TestAgent;
let bob: TestAgent;

beforeAll(async () => {
  alice = await makeAgent("alice.auth");
  bob = await makeAgent("bob.auth");
  // bob becomes a known recipient by reading his own status.
  expect((await signedCall(bob, "GET", `/v1/agents/${bob.id}/status`)).status).toBe(200);
});

const status = (agent: TestAgent, options = {}) => signedCall(agent, "GET", `/v1/agents/${agent.id}/status`, options);

describe("credentials and malformed headers", () => {
  it("missing Authorization → missing_credentials", async () => {
    const res = await exports.default.fetch(`${ORIGIN}/v1/agents/${alice.id}/status`);
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("missing_credentials");
  });

  it("another Authorization scheme → 401 missing_credentials", async () => {
    const res = await status(alice, {
      mutate: (i: { headers: Record<string, string> }) => (i.headers.authorization = `Bearer ${alice.token}`),
    });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("missing_credentials");
  });

  it("a missing signature header → missing_credentials", async () => {
    const res = await status(alice, {
      mutate: (i: { headers: Record<string, string> }) => delete i.headers["x-claw-signature"],
    });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("missing_credentials");
  });

  it.each([
    ["x-claw-timestamp", "12.5"],
    ["x-claw-nonce", "short"],
    ["x-claw-signature", "not-a-signature"],
    ["x-claw-correlation-id", "bad id with spaces"],
    ["x-claw-idempotency-key", "tiny"],
    ["content-digest", "sha-256=abc"],
  ])("malformed %s → 400 invalid_request", async (header, value) => {
    const res = await status(alice, {
      mutate: (i: { headers: Record<string, string> }) => (i.headers[header] = value),
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_request");
  });

  it("a huge token → invalid_token", async () => {
    const res = await status(alice, { token: "a".repeat(20_000) });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("invalid_token");
  });

  it("every answer echoes a correlation id, made when absent", async () => {
    const res = await status(alice);
    expect(res.headers.get("x-claw-correlation-id")).toMatch(/^[0-9A-Z]{26}$/);
    const given = await status(alice, { correlationId: "corr-echo-0001" });
    expect(given.headers.get("x-claw-correlation-id")).toBe("corr-echo-0001");
  });
});

describe("identity token", () => {
  const cases: [string, () => Promise<string>, string][] = [
    [
      "alg none",
      async () =>
        unsignedToken({ alg: "none", typ: "agent+jwt", kid: registry().publicJwk.kid }, standardClaims(alice)),
      "invalid_token",
    ],
    [
      "HS256 signed with the registry public key",
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(registry().publicJwk));
        return new SignJWT(standardClaims(alice))
          .setProtectedHeader({ alg: "HS256", typ: "agent+jwt", kid: registry().publicJwk.kid })
          .sign(secret);
      },
      "invalid_token",
    ],
    ["unknown kid", () => rawToken({ typ: "agent+jwt", kid: "nope" }, standardClaims(alice)), "invalid_token"],
    [
      "wrong aud",
      () => rawToken({ typ: "agent+jwt", kid: registry().publicJwk.kid }, { ...standardClaims(alice), aud: "other" }),
      "invalid_token",
    ],
    [
      "wrong iss",
      () =>
        rawToken(
          { typ: "agent+jwt", kid: registry().publicJwk.kid },
          { ...standardClaims(alice), iss: "test-registry-two" },
        ),
      "invalid_token",
    ],
    [
      "wrong typ",
      () => rawToken({ typ: "JWT", kid: registry().publicJwk.kid }, standardClaims(alice)),
      "invalid_token",
    ],
    [
      "missing exp",
      () => rawToken({ typ: "agent+jwt", kid: registry().publicJwk.kid }, { ...standardClaims(alice), exp: undefined }),
      "invalid_token",
    ],
    [
      "missing jti",
      () => rawToken({ typ: "agent+jwt", kid: registry().publicJwk.kid }, { ...standardClaims(alice), jti: undefined }),
      "invalid_token",
    ],
    [
      "missing cnf",
      () => rawToken({ typ: "agent+jwt", kid: registry().publicJwk.kid }, { ...standardClaims(alice), cnf: undefined }),
      "invalid_token",
    ],
    [
      "expired",
      () =>
        rawToken(
          { typ: "agent+jwt", kid: registry().publicJwk.kid },
          { ...standardClaims(alice), iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 },
        ),
      "token_expired",
    ],
    [
      "not yet valid",
      () =>
        rawToken(
          { typ: "agent+jwt", kid: registry().publicJwk.kid },
          { ...standardClaims(alice), iat: nowSeconds() + 3600, exp: nowSeconds() + 7200 },
        ),
      "invalid_token",
    ],
    [
      "from an untrusted registry",
      () =>
        rawToken(
          { typ: "agent+jwt", kid: registry("untrusted").publicJwk.kid },
          { ...standardClaims(alice), iss: "rogue-registry" },
          "untrusted",
        ),
      "invalid_token",
    ],
    ["garbage", async () => "not.a.token", "invalid_token"],
  ];

  it.each(cases)("%s → 401", async (_name, makeToken, code) => {
    const res = await status(alice, { token: await makeToken() });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe(code);
  });

  it("a token from a second trusted registry is accepted", async () => {
    const carol = await makeAgent("carol.auth", { registry: "trusted2" });
    expect((await status(carol)).status).toBe(200);
  });
});

describe("timestamp, digest, signature", () => {
  it.each([301, -301])("skew of %i s → timestamp_skew", async (skew) => {
    const res = await status(alice, { timestamp: nowSeconds() + skew });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("timestamp_skew");
  });

  it("skew within the window is accepted", async () => {
    expect((await status(alice, { timestamp: nowSeconds() - 290 })).status).toBe(200);
    expect((await status(alice, { timestamp: nowSeconds() + 290 })).status).toBe(200);
  });

  type Init = { method: string; url: string; headers: Record<string, string>; body: string | Uint8Array | null };
  const tampers: [string, (i: Init) => void][] = [
    ["method", (i) => (i.method = "GET")],
    ["host", (i) => (i.url = i.url.replace("relay.test", "other.test"))],
    ["path", (i) => (i.url = i.url.replace(`/agents/${alice.id}/`, `/agents/${bob.id}/`))],
    ["query", (i) => (i.url = i.url.replace("?x=1", "?x=2"))],
    ["correlation id", (i) => (i.headers["x-claw-correlation-id"] = "corr-tampered-01")],
    ["idempotency key", (i) => (i.headers["x-claw-idempotency-key"] = "idem-tampered-01")],
  ];
  it.each(tampers)("tampered %s → invalid_signature", async (name, mutate) => {
    // The method case signs a POST and sends the GET that the status route answers.
    const res = await signedCall(alice, name === "method" ? "POST" : "GET", `/v1/agents/${alice.id}/status?x=1`, {
      correlationId: "corr-original-01",
      idempotencyKey: "idem-original-01",
      mutate,
    });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("invalid_signature");
  });

  it("a key that is not the token's cnf key → invalid_signature", async () => {
    const res = await status(alice, { token: bob.token });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("invalid_signature");
  });

  it("tampered body with the original digest → digest_mismatch", async () => {
    const res = await sendMessage(
      alice,
      bob.id,
      { payload: { n: 1 } },
      { mutate: (i) => (i.body = JSON.stringify({ payload: { n: 2 } })) },
    );
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("digest_mismatch");
  });

  it("tampered body with a recomputed digest → invalid_signature", async () => {
    const other = JSON.stringify({ payload: { n: 2 } });
    const digest = await contentDigest(other);
    const res = await sendMessage(
      alice,
      bob.id,
      { payload: { n: 1 } },
      {
        mutate: (i) => {
          i.body = other;
          i.headers["content-digest"] = digest;
        },
      },
    );
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("invalid_signature");
  });

  it("a body without Content-Digest → missing_credentials", async () => {
    const res = await sendMessage(alice, bob.id, { payload: 1 }, { mutate: (i) => delete i.headers["content-digest"] });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("missing_credentials");
  });
});

describe("nonces", () => {
  it("a replayed nonce → replayed_nonce", async () => {
    const nonce = "cmVwbGF5LW5vbmNlLTAwMDAx";
    expect((await status(alice, { nonce })).status).toBe(200);
    const res = await status(alice, { nonce });
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("replayed_nonce");
  });

  it("two racing requests with one nonce: exactly one wins", async () => {
    const nonce = "cmFjaW5nLW5vbmNlLTAwMDAy";
    const [a, b] = await Promise.all([status(alice, { nonce }), status(alice, { nonce })]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 401]);
    const loser = a.status === 401 ? a : b;
    expect(await errorCode(loser)).toBe("replayed_nonce");
  });

  it("the same nonce from another sender is fine", async () => {
    const nonce = "c2hhcmVkLW5vbmNlLTAwMDAz";
    expect((await status(alice, { nonce })).status).toBe(200);
    expect((await status(bob, { nonce })).status).toBe(200);
  });
});
