import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { type Receipt, receiptSchema } from "@clawrelay/protocol";
import { type Ed25519PrivateJwk, signReceiptToken, verifyReceiptToken } from "@clawrelay/signing";
import { describe, expect, it } from "vitest";
import { relayConfig } from "../src/config.js";
import { postRemoteReceipt } from "../src/receipts/courier.js";
import testKeys from "./fixtures/keys.json";
import { makeAgent, ORIGIN, RELAY_ORIGIN } from "./support/agents.js";
import { knownAgent, messageRecord, send, sendOk, uniqueId } from "./support/session.js";
import { advanceClock, connect, fireAlarm, sessionStub } from "./support/socket.js";

const REMOTE = testKeys.remoteRelay.origin;
const CONVERSATION = "conv:planning-2026.q3";
const IN_REPLY_TO = "01JQUESTION0000000000000000";

// PROTOCOL.md §4, §6, §7: conversationId and inReplyTo are stored with the item and passed on
// unchanged — deliver item, message record, every receipt of the message (conversationId).
describe("conversations", () => {
  it("the deliver item carries conversationId and inReplyTo as sent; a send without them has neither key", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const withFields = await sendOk(alice, bob, { payload: 1, conversationId: CONVERSATION, inReplyTo: IN_REPLY_TO });
    const onlyConversation = await sendOk(alice, bob, { payload: 2, conversationId: CONVERSATION });
    const plain = await sendOk(alice, bob, { payload: 3 });
    const items = await socket.messages(3);
    expect(items.map((i) => i.id)).toEqual([withFields.messageId, onlyConversation.messageId, plain.messageId]);
    expect(items[0]).toMatchObject({ conversationId: CONVERSATION, inReplyTo: IN_REPLY_TO });
    expect(items[1]).toMatchObject({ conversationId: CONVERSATION });
    expect(items[1]).not.toHaveProperty("inReplyTo");
    expect(items[2]).not.toHaveProperty("conversationId");
    expect(items[2]).not.toHaveProperty("inReplyTo");
    // Absent on the wire, not null.
    const wire = socket.raw.filter((r) => r.includes(plain.messageId)).join("");
    expect(wire).not.toContain("null");
    socket.close();
  });

  it("the message record shows them (and leaves them out when the send had none)", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const sent = await sendOk(alice, bob, { payload: 1, conversationId: CONVERSATION, inReplyTo: IN_REPLY_TO });
    const plain = await sendOk(alice, bob, { payload: 2 });
    const record = await messageRecord(alice, bob, sent.messageId);
    expect(record.status).toBe(200);
    expect(record.json).toMatchObject({ conversationId: CONVERSATION, inReplyTo: IN_REPLY_TO });
    const bare = await messageRecord(bob, bob, plain.messageId);
    expect(bare.json).not.toHaveProperty("conversationId");
    expect(bare.json).not.toHaveProperty("inReplyTo");
  });

  it("invalid values are refused with 400 invalid_request and nothing is queued", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const bad = ["short", "has spaces in it", "x".repeat(129), 12345678, null, ""];
    for (const value of bad) {
      for (const field of ["conversationId", "inReplyTo"]) {
        const res = await send(alice, bob, { payload: 1, [field]: value });
        expect({ field, value, status: res.status, code: res.json.error?.code }).toEqual({
          field,
          value,
          status: 400,
          code: "invalid_request",
        });
      }
    }
    const { socket, ack } = await connect(bob);
    expect(ack.queuedCount).toBe(0);
    socket.close();
  });

  it("an idempotent repeat answers as before; another conversation under the same key is another body (409)", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const body = { payload: 1, conversationId: CONVERSATION };
    const first = await sendOk(alice, bob, body, { idempotencyKey: "conv-key-0001" });
    const repeat = await send(alice, bob, body, { idempotencyKey: "conv-key-0001" });
    expect(repeat.status).toBe(200);
    expect(repeat.json).toEqual({ ...first, duplicate: true });
    const other = await send(
      alice,
      bob,
      { ...body, conversationId: "conv:another-one" },
      { idempotencyKey: "conv-key-0001" },
    );
    expect(other.status).toBe(409);
    expect(other.json.error?.code).toBe("idempotency_key_reused");
  });

  it("every receipt of the message carries its conversationId: delivered, processed, expired", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket: bobSocket } = await connect(bob);
    const done = await sendOk(alice, bob, {
      payload: "done",
      conversationId: CONVERSATION,
      inReplyTo: IN_REPLY_TO,
      notify: ["delivered", "processed"],
    });
    const [item] = await bobSocket.messages(1);
    bobSocket.ack([done.messageId]);
    bobSocket.send({ type: "processed", id: item?.id, outcome: "processed" });
    await expect.poll(async () => (await messageRecord(alice, bob, done.messageId)).json.terminal).toBe("processed");
    bobSocket.close();
    await expect.poll(async () => (await messageRecord(alice, bob, done.messageId)).json.receipts.length).toBe(2);

    const lost = await sendOk(alice, bob, { payload: "lost", ttlSeconds: 5, conversationId: "conv:expiring-001" });
    await advanceClock(bob.id, 6000);
    await fireAlarm(bob.id);
    expect((await messageRecord(alice, bob, lost.messageId)).json.state).toBe("expired");

    const { socket: aliceSocket } = await connect(alice);
    const receipts = (await aliceSocket.items(3)).map((i) => (i.kind === "receipt" ? i.receipt : null));
    expect(receipts.map((r) => [r?.messageId, r?.status, r?.conversationId])).toEqual([
      [done.messageId, "delivered", CONVERSATION],
      [done.messageId, "processed", CONVERSATION],
      [lost.messageId, "expired", "conv:expiring-001"],
    ]);
    aliceSocket.close();
  });

  it("a receipt without a conversation has no conversationId key", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const lost = await sendOk(alice, bob, { payload: "lost", ttlSeconds: 5 });
    await advanceClock(bob.id, 6000);
    await fireAlarm(bob.id);
    const { socket } = await connect(alice);
    const [item] = await socket.items(1);
    expect(item).toMatchObject({ kind: "receipt", receipt: { messageId: lost.messageId, status: "expired" } });
    expect(item?.kind === "receipt" ? item.receipt : {}).not.toHaveProperty("conversationId");
    socket.close();
  });
});

describe("conversations across relays", () => {
  it("the receipt JWT for a sender homed elsewhere carries conversationId", async () => {
    const bob = await knownAgent("bob");
    const remoteAlice = await makeAgent(uniqueId("ralice"), { relay: REMOTE });
    const sent = await sendOk(remoteAlice, bob, { payload: 1, ttlSeconds: 5, conversationId: CONVERSATION });
    await advanceClock(bob.id, 6000);
    await fireAlarm(bob.id);
    const bodies = await runInDurableObject(sessionStub(bob.id), (_instance, state) =>
      state.storage.sql
        .exec<{ body: string }>("SELECT body FROM receipt_outbox WHERE destination = ?", REMOTE)
        .toArray()
        .map((row) => receiptSchema.parse(JSON.parse(row.body))),
    );
    const receipt = bodies.find((r) => r.messageId === sent.messageId);
    expect(receipt).toMatchObject({ status: "expired", conversationId: CONVERSATION });

    // What the courier POSTs: the token's receipt claim keeps the field.
    let token = "";
    const capture = (async (_url: string, init?: RequestInit) => {
      token = String(init?.body ?? "");
      return new Response(null, { status: 202 });
    }) as typeof fetch;
    await postRemoteReceipt(relayConfig(env), REMOTE, remoteAlice.id, receipt as Receipt, capture);
    const verified = await verifyReceiptToken(token, {
      jwks: { keys: [testKeys.relay.publicJwk] },
      issuer: RELAY_ORIGIN,
      audience: REMOTE,
    });
    expect(verified.receipt).toMatchObject({ messageId: sent.messageId, conversationId: CONVERSATION });
  });

  it("a receipt JWT from a trusted relay with conversationId reaches the sender's connector with it", async () => {
    const alice = await knownAgent("alice");
    const receiptId = `01JCONVRECEIPT${Date.now()}`.slice(0, 26);
    const token = await signReceiptToken({
      privateJwk: testKeys.remoteRelay.privateJwk as Ed25519PrivateJwk,
      iss: REMOTE,
      aud: RELAY_ORIGIN,
      sub: alice.id,
      receipt: {
        receiptId,
        messageId: "01JREMOTEMESSAGE0000000000",
        correlationId: "corr-remote-00001",
        status: "processed",
        recipient: "bob.remote",
        at: Date.now(),
        attempts: 1,
        enqueuedAt: Date.now() - 1000,
        conversationId: CONVERSATION,
      },
    });
    const res = await exports.default.fetch(
      new Request(`${ORIGIN}/v1/receipts`, {
        method: "POST",
        headers: { "content-type": "application/jwt" },
        body: token,
      }),
    );
    expect(res.status).toBe(202);
    const { socket } = await connect(alice);
    const [item] = await socket.items(1);
    expect(item).toMatchObject({ kind: "receipt", receipt: { receiptId, conversationId: CONVERSATION } });
    socket.close();
  });
});
