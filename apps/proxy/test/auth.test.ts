import { exports } from "cloudflare:workers";
import { contentDigest, signRequest } from "@clawrelay/signing";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  adminCall,
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

describe("bodies", () => {
  const cap = 262_144;
  const overCap = () => new Uint8Array(cap + 1).fill(0x20);

  async function sendRaw(bodyInit: BodyInit, contentLength: string | null, bytes: Uint8Array): Promise<Response> {
    const url = `${ORIGIN}/v1/agents/${bob.id}/messages`;
    const { headers } = await signRequest({
      token: alice.token,
      privateKey: alice.privateJwk,
      method: "POST",
      url,
      body: bytes,
    });
    headers["content-type"] = "application/json";
    if (contentLength !== null) headers["content-length"] = contentLength;
    return exports.default.fetch(new Request(url, { method: "POST", headers, body: bodyInit }));
  }
  const stream = (bytes: Uint8Array) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.byteLength; i += 65_536) controller.enqueue(bytes.slice(i, i + 65_536));
        controller.close();
      },
    });

  it("one byte over the cap with no Content-Length → 413", async () => {
    const bytes = overCap();
    const res = await sendRaw(stream(bytes), null, bytes);
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe("payload_too_large");
  });

  it.each([["10"], ["abc"]])("one byte over the cap with Content-Length %s → 413", async (length) => {
    const bytes = overCap();
    const res = await sendRaw(stream(bytes), length, bytes);
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe("payload_too_large");
  });

  it("exactly at the cap passes the body check", async () => {
    const payload = "x".repeat(cap - JSON.stringify({ payload: "" }).length);
    const text = JSON.stringify({ payload });
    expect(new TextEncoder().encode(text).byteLength).toBe(cap);
    const res = await sendMessage(alice, bob.id, { payload });
    expect(res.status).not.toBe(413);
  });

  it("not JSON content type → 415", async () => {
    const res = await sendMessage(alice, bob.id, { payload: 1 }, { contentType: "text/plain" });
    expect(res.status).toBe(415);
    expect(await errorCode(res)).toBe("unsupported_media_type");
  });

  it("bad JSON → invalid_json", async () => {
    const res = await signedCall(alice, "POST", `/v1/agents/${bob.id}/messages`, { body: "{nope" });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_json");
  });

  it.each([
    [{}],
    [{ payload: 1, priority: "urgent" }],
    [{ payload: 1, ttlSeconds: 0 }],
    [{ payload: 1, ttlSeconds: 604_801 }],
    [{ payload: 1, notify: ["everything"] }],
    [{ payload: 1, extra: true }],
  ])("invalid send body %j → invalid_request", async (body) => {
    const res = await sendMessage(alice, bob.id, body);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_request");
  });

  it("a malformed recipient id → invalid_request", async () => {
    const res = await sendMessage(alice, "BAD!", { payload: 1 });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_request");
  });
});

describe("revocation", () => {
  it("revoking a jti refuses that token, not a fresh one", async () => {
    const dave = await makeAgent("dave.auth");
    expect((await status(dave)).status).toBe(200);
    const { decodeJwt } = await import("jose");
    const jti = decodeJwt(dave.token).jti as string;
    const revoked = await adminCall("POST", "/v1/admin/revocations", { jti, reason: "lost laptop" });
    expect(revoked.status).toBe(201);
    expect(await revoked.json()).toMatchObject({ jti, reason: "lost laptop" });
    const res = await status(dave);
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("revoked");
  });

  it("revoking an agent id refuses all its tokens", async () => {
    const erin = await makeAgent("erin.auth");
    expect((await adminCall("POST", "/v1/admin/revocations", { agentId: erin.id })).status).toBe(201);
    const fresh = await makeAgent("erin.auth");
    const res = await status(fresh);
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("revoked");
  });

  it("revocation bodies are validated", async () => {
    const res = await adminCall("POST", "/v1/admin/revocations", { nothing: true });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_request");
  });
});

describe("routes", () => {
  it("GET /healthz answers ok with the version", async () => {
    const res = await exports.default.fetch(`${ORIGIN}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", version: expect.any(String) });
  });

  it("unknown routes get a JSON 404, known paths with another method a JSON 405 with Allow", async () => {
    const missing = await exports.default.fetch(`${ORIGIN}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("not_found");
    const wrong = await exports.default.fetch(`${ORIGIN}/v1/agents/${alice.id}/status`, { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET");
    expect(await errorCode(wrong)).toBe("method_not_allowed");
  });

  it("admin routes refuse missing and wrong bearer tokens", async () => {
    const none = await exports.default.fetch(`${ORIGIN}/v1/admin/revocations`, { method: "POST" });
    expect(none.status).toBe(401);
    expect(await errorCode(none)).toBe("missing_credentials");
    const wrong = await exports.default.fetch(`${ORIGIN}/v1/admin/revocations`, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token-0123456789abcdeX" },
    });
    expect(wrong.status).toBe(401);
    expect(await errorCode(wrong)).toBe("invalid_token");
  });

  it("status is for the agent itself or an admin", async () => {
    const res = await signedCall(alice, "GET", `/v1/agents/${bob.id}/status`);
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("not_owner");
    const admin = await adminCall("GET", `/v1/agents/${bob.id}/status`);
    expect(admin.status).toBe(200);
    expect(await admin.json()).toMatchObject({ agentId: bob.id, known: true, connections: [], queue: { inFlight: 0 } });
  });
});
