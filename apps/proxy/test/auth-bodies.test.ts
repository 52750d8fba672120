import { exports } from "cloudflare:workers";
import { signRequest } from "@clawrelay/signing";
import { beforeAll, describe, expect, it } from "vitest";
import { adminCall, errorCode, makeAgent, ORIGIN, sendMessage, signedCall, type TestAgent } from "./support/agents.js";

const _nowSeconds = () => Math.floor(Date.now() / 1000);
let alice: TestAgent;
let bob: TestAgent;

beforeAll(async () => {
  alice = await makeAgent("alice.auth");
  bob = await makeAgent("bob.auth");
  // bob becomes a known recipient by reading his own status.
  expect((await signedCall(bob, "GET", `/v1/agents/${bob.id}/status`)).status).toBe(200);
});

const status = (agent: TestAgent, options = {}) => signedCall(agent, "GET", `/v1/agents/${agent.id}/status`, options);

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
