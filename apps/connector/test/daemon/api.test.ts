import { errorBodySchema } from "@clawrelay/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageItem, tempDir } from "./helpers/common.js";
import { postJson, startTestConnector, type TestConnector } from "./helpers/connector.js";
import { deadPort } from "./helpers/fake-relay.js";

let started: TestConnector;
let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  dir = tempDir();
  // No relay: the API works (accepts, stores, answers) while the relay is unreachable.
  started = await startTestConnector({
    dataDir: dir.path,
    relayUrls: [`http://127.0.0.1:${await deadPort()}`],
    hookUrl: `http://127.0.0.1:${await deadPort()}/hook`,
    apiMaxBodyBytes: 2_048,
    hookMaxAttempts: 1,
  });
});
afterAll(async () => {
  await started.connector.close();
  dir.remove();
});

async function expectError(
  answer: Promise<{ status: number; headers: Headers; body: unknown }>,
  status: number,
  code: string,
) {
  const { status: actual, body } = await answer;
  const parsed = errorBodySchema.parse(body);
  expect({ status: actual, code: parsed.error.code }).toEqual({ status, code });
  return parsed;
}

describe("local API validation", () => {
  it("accepts a valid outbound message with 202 and repeats an idempotent one with 200", async () => {
    const body = { to: "carol-agent", payload: { a: 1 }, idempotencyKey: "agent-key-0001" };
    const first = await started.api("/v1/outbound", postJson(body));
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ state: "queued" });
    const again = await started.api("/v1/outbound", postJson(body));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      outboundId: (first.body as { outboundId: string }).outboundId,
      duplicate: true,
    });
    const read = await started.api(`/v1/outbound/${(first.body as { outboundId: string }).outboundId}`);
    expect(read.body).toMatchObject({ to: "carol-agent", idempotencyKey: "agent-key-0001", priority: "normal" });
  });

  it.each([
    ["missing to", { payload: 1 }],
    ["bad agent id", { to: "Not An Agent", payload: 1 }],
    ["missing payload", { to: "carol-agent" }],
    ["unknown field", { to: "carol-agent", payload: 1, from: "mallory" }],
    ["bad priority", { to: "carol-agent", payload: 1, priority: "urgent" }],
    ["ttl too long", { to: "carol-agent", payload: 1, ttlSeconds: 604_801 }],
    ["bad notify", { to: "carol-agent", payload: 1, notify: ["read"] }],
    ["bad correlation id", { to: "carol-agent", payload: 1, correlationId: "short" }],
    ["bad toRelay", { to: "carol-agent", payload: 1, toRelay: "not a url" }],
    ["toRelay not http", { to: "carol-agent", payload: 1, toRelay: "ftp://relay.example.com" }],
    ["toRelay with a path", { to: "carol-agent", payload: 1, toRelay: "https://relay.example.com/v1/x" }],
  ])("refuses %s with 400 invalid_request", async (_name, body) => {
    const error = await expectError(started.api("/v1/outbound", postJson(body)), 400, "invalid_request");
    expect(error.error.correlationId.length).toBeGreaterThan(0);
  });

  it("refuses malformed JSON, the wrong media type and oversized bodies", async () => {
    await expectError(
      started.api("/v1/outbound", { method: "POST", headers: { "content-type": "application/json" }, body: "{oops" }),
      400,
      "invalid_json",
    );
    await expectError(
      started.api("/v1/outbound", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }),
      415,
      "unsupported_media_type",
    );
    await expectError(
      started.api("/v1/outbound", postJson({ to: "carol-agent", payload: "x".repeat(4_000) })),
      413,
      "payload_too_large",
    );
  });

  it("answers unknown routes, wrong methods and unknown ids with protocol error codes", async () => {
    await expectError(started.api("/v1/nothing"), 404, "not_found");
    await expectError(started.api("/v1/outbound/01UNKNOWN00000000000000000"), 404, "not_found");
    const wrongMethod = await expectError(started.api("/v1/outbound"), 405, "method_not_allowed");
    expect(wrongMethod.error.message).toContain("POST");
    await expectError(started.api("/v1/status", postJson({})), 405, "method_not_allowed");
  });

  it("echoes a valid X-Claw-Correlation-Id in errors", async () => {
    const error = await expectError(
      started.api("/v1/outbound", {
        ...postJson({}),
        headers: { "content-type": "application/json", "x-claw-correlation-id": "trace-abc-123" },
      }),
      400,
      "invalid_request",
    );
    expect(error.error.correlationId).toBe("trace-abc-123");
  });

  it("lists and replays dead letters, and validates the replay body", async () => {
    const item = messageItem();
    const { store } = started.connector;
    store.storeInbound([item], Date.now());
    const entry = store.inbox.due(Date.now(), 10, new Set()).find((row) => row.id === item.id);
    if (!entry) throw new Error("expected the stored item");
    store.inbox.deadLetter(entry, 3, "retries exhausted: hook_unreachable", "dead_lettered", Date.now());
    const listed = (await started.api("/v1/dead-letters")).body as { items: { id: string; reason: string }[] };
    expect(listed.items.map((entry) => entry.id)).toContain(item.id);
    await expectError(started.api("/v1/dead-letters?limit=abc"), 400, "invalid_request");
    await expectError(started.api("/v1/dead-letters/replay", postJson({ ids: [] })), 400, "invalid_request");
    await expectError(started.api("/v1/dead-letters/replay", postJson({ all: true })), 400, "invalid_request");
    const replayed = await started.api("/v1/dead-letters/replay", postJson({ ids: [item.id, "nope-0000"] }));
    expect(replayed).toMatchObject({ status: 200, body: { replayed: 1, ids: [item.id] } });
  });
});
