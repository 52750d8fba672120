import { errorBodySchema, type Receipt } from "@clawrelay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { messageItem, receiptItem, waitUntil } from "./helpers/common.js";
import { postJson, startTestConnector, type TestConnector } from "./helpers/connector.js";
import type { FakeRelay, RecordedRequest } from "./helpers/fake-relay.js";
import type { HookServer } from "./helpers/hook-server.js";
import { standIns } from "./helpers/stand-ins.js";

// PROTOCOL.md §4 and §8: replies default their recipient and conversation from the message they
// answer; conversation fields reach the signed send and the receipts.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<TestConnector & { relay: FakeRelay; hook: HookServer }> {
  const { dir, relay, hook } = await standIns(cleanups);
  const started = await startTestConnector({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url() });
  cleanups.push(() => started.connector.close());
  return { ...started, relay, hook };
}

type Answer = { outboundId: string; correlationId: string; conversationId?: string; state: string };

/** POST /v1/outbound, expecting 202; the signed send it becomes, as the relay got it. */
async function send(
  started: Awaited<ReturnType<typeof start>>,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ answer: Answer; request: RecordedRequest; sent: Record<string, unknown> }> {
  const posted = await started.api("/v1/outbound", postJson(body, headers));
  expect(posted.status, JSON.stringify(posted.body)).toBe(202);
  const answer = posted.body as Answer;
  const request = await started.relay.requests.waitFor(
    (entry) => entry.headers["x-claw-correlation-id"] === answer.correlationId,
  );
  return { answer, request, sent: JSON.parse(request.body) as Record<string, unknown> };
}

/** Every outbox row, whatever its state (an earlier message may move on meanwhile). */
function outboxRows(started: TestConnector): number {
  return Object.values(started.connector.store.counts().outbox).reduce((sum, n) => sum + n, 0);
}

async function expectInvalid(started: TestConnector, init: RequestInit): Promise<void> {
  const before = outboxRows(started);
  const answer = await started.api("/v1/outbound", init);
  expect({ status: answer.status, code: errorBodySchema.parse(answer.body).error.code }).toEqual({
    status: 400,
    code: "invalid_request",
  });
  expect(outboxRows(started)).toBe(before);
}

describe("replies (PROTOCOL.md §8)", () => {
  it("inReplyTo a received message's id: to is its sender, conversationId its conversation; both reach the signed send", async () => {
    const started = await start();
    const received = messageItem({ from: "alice-agent", conversationId: "conv-alice-0001" });
    started.connector.store.storeInbound([received], Date.now());
    const { answer, request, sent } = await send(started, { payload: { text: "hi back" }, inReplyTo: received.id });
    expect(answer).toMatchObject({ conversationId: "conv-alice-0001", state: "queued" });
    expect(request.path).toBe("/v1/agents/alice-agent/messages");
    expect(sent).toEqual({ payload: { text: "hi back" }, conversationId: "conv-alice-0001", inReplyTo: received.id });
    expect(await started.identity.verify(request)).toBe(true);
    const read = await started.api(`/v1/outbound/${answer.outboundId}`);
    expect(read.body).toMatchObject({ to: "alice-agent", conversationId: "conv-alice-0001", inReplyTo: received.id });
  });

  it("inReplyTo by correlation id, to a message without a conversation: the conversation is that message's id", async () => {
    const started = await start();
    const received = messageItem({ from: "dave-agent", correlationId: "corr-from-dave-01" });
    started.connector.store.storeInbound([received], Date.now());
    const { answer, request, sent } = await send(started, { payload: 1, inReplyTo: "corr-from-dave-01" });
    expect(answer.conversationId).toBe(received.id);
    expect(request.path).toBe("/v1/agents/dave-agent/messages");
    expect(sent).toMatchObject({ conversationId: received.id, inReplyTo: "corr-from-dave-01" });
  });

  it("an explicit to and an explicit conversationId win over the defaults", async () => {
    const started = await start();
    const received = messageItem({ from: "alice-agent", conversationId: "conv-alice-0002" });
    started.connector.store.storeInbound([received], Date.now());
    const forwarded = await send(started, { to: "carol-agent", payload: 1, inReplyTo: received.id });
    expect(forwarded.request.path).toBe("/v1/agents/carol-agent/messages");
    expect(forwarded.sent).toMatchObject({ conversationId: "conv-alice-0002" });
    const renamed = await send(started, { payload: 2, inReplyTo: received.id, conversationId: "conv-mine-00001" });
    expect(renamed.request.path).toBe("/v1/agents/alice-agent/messages");
    expect(renamed.answer.conversationId).toBe("conv-mine-00001");
    expect(renamed.sent).toMatchObject({ conversationId: "conv-mine-00001", inReplyTo: received.id });
  });

  it("inReplyTo naming no received message: passed on as given with an explicit to, 400 without one", async () => {
    const started = await start();
    const unknown = await send(started, { to: "carol-agent", payload: 1, inReplyTo: "01NEVERSEEN000000" });
    expect(unknown.answer.conversationId).toBeUndefined();
    expect(unknown.sent).toEqual({ payload: 1, inReplyTo: "01NEVERSEEN000000" });
    await expectInvalid(started, postJson({ payload: 1, inReplyTo: "01NEVERSEEN000000" }));
    await expectInvalid(started, postJson({ payload: 1 }));
  });

  it("a message received over the relay link can be answered by its id", async () => {
    const started = await start();
    const connection = await started.relay.connections.waitFor();
    await connection.frame("reconnect");
    connection.ack("active");
    const received = messageItem({ from: "erin-agent", conversationId: "conv-erin-00001" });
    connection.send({ type: "deliver", items: [received] });
    await connection.frame("ack");
    const { request, sent } = await send(started, { payload: "ok", inReplyTo: received.id });
    expect(request.path).toBe("/v1/agents/erin-agent/messages");
    expect(sent).toMatchObject({ conversationId: "conv-erin-00001" });
  });
});

describe("X-Claw-Session-Key", () => {
  it("is stored with the message and found by its relay message id, outbound id and correlation id", async () => {
    const started = await start();
    const { answer } = await send(
      started,
      { to: "carol-agent", payload: 1, correlationId: "corr-session-0001" },
      { "x-claw-session-key": "hook:clawrelay:carol:conv-1" },
    );
    const { store } = started.connector;
    await waitUntil(() => store.outbox.get(answer.outboundId)?.state === "sent", 5_000, "sent");
    const messageId = store.outbox.get(answer.outboundId)?.messageId;
    if (!messageId) throw new Error("expected a relay message id");
    for (const id of [messageId, answer.outboundId, "corr-session-0001"]) {
      expect(store.sessionKeyForMessage(id), id).toBe("hook:clawrelay:carol:conv-1");
    }
    expect((await started.api(`/v1/outbound/${answer.outboundId}`)).body).toMatchObject({
      sessionKey: "hook:clawrelay:carol:conv-1",
    });
  });

  it.each([
    ["empty", ""],
    ["a space", "hook:two words"],
    ["a slash", "hook/x"],
    ["257 characters", "k".repeat(257)],
  ])("refuses a key with %s with 400 invalid_request and stores nothing", async (_name, value) => {
    const started = await start();
    await expectInvalid(started, postJson({ to: "carol-agent", payload: 1 }, { "x-claw-session-key": value }));
  });
});

describe("receipts keep the conversation", () => {
  it("a local failed receipt for a refused send carries the outbound message's conversationId", async () => {
    const started = await start();
    started.relay.setHttp(() => ({
      status: 404,
      body: { error: { code: "unknown_recipient", message: "no such agent", correlationId: "c-00000001" } },
    }));
    await send(started, { to: "nobody-agent", payload: 1, conversationId: "conv-doomed-0001" });
    const call = await started.hook.calls.waitFor(
      (entry) => (entry.body as { receipt?: Receipt }).receipt !== undefined,
    );
    expect((call.body as { receipt: Receipt }).receipt).toMatchObject({
      status: "failed",
      conversationId: "conv-doomed-0001",
    });
  });

  it("a relay's receipt reaches the receipt hook with its conversationId", async () => {
    const started = await start();
    const connection = await started.relay.connections.waitFor();
    await connection.frame("reconnect");
    connection.ack("active");
    const item = receiptItem({ status: "processed", conversationId: "conv-receipt-001" });
    connection.send({ type: "deliver", items: [item] });
    const call = await started.hook.calls.waitFor(
      (entry) => (entry.body as { receipt?: Receipt }).receipt !== undefined,
    );
    expect((call.body as { receipt: Receipt }).receipt).toEqual(item.receipt);
  });
});
