import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { type Ed25519PrivateJwk, generateKeyPair, signReceiptToken } from "@clawrelay/signing";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import type { DeadlineNotes } from "../src/session/time/scheduler.js";
import testKeys from "./fixtures/keys.json";
import { errorCode, makeAgent, ORIGIN, RELAY_ORIGIN, signedCall } from "./support/agents.js";
import { setClock } from "./support/clock.js";
import { knownAgent, messageRecord, sendOk, statusOf, uniqueId } from "./support/session.js";
import { advanceClock, connect, fireAlarm, sessionStub } from "./support/socket.js";

const REMOTE = testKeys.remoteRelay.origin;

function receiptFor(agentId: string, receiptId: string) {
  return {
    receiptId,
    messageId: "01JREMOTEMESSAGE0000000000",
    correlationId: "corr-remote-00001",
    status: "expired" as const,
    recipient: "bob.remote",
    at: Date.now(),
    attempts: 0,
    enqueuedAt: Date.now() - 1000,
    _for: agentId,
  };
}

async function postReceipt(token: string, contentType = "application/jwt"): Promise<Response> {
  return exports.default.fetch(
    new Request(`${ORIGIN}/v1/receipts`, { method: "POST", headers: { "content-type": contentType }, body: token }),
  );
}

async function remoteToken(
  sub: string,
  receiptId: string,
  key: Ed25519PrivateJwk = testKeys.remoteRelay.privateJwk as Ed25519PrivateJwk,
  iss = REMOTE,
) {
  const { _for, ...receipt } = receiptFor(sub, receiptId);
  return signReceiptToken({ privateJwk: key, iss, aud: RELAY_ORIGIN, sub, receipt });
}

describe("receipts from other relays", () => {
  it("publishes this relay's receipt key at the well-known JWKS", async () => {
    const res = await exports.default.fetch(`${ORIGIN}/.well-known/clawrelay/jwks.json`);
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toEqual([
      expect.objectContaining({
        kty: "OKP",
        crv: "Ed25519",
        x: testKeys.relay.publicJwk.x,
        kid: testKeys.relay.privateJwk.kid,
      }),
    ]);
    expect(jwks.keys[0]).not.toHaveProperty("d");
  });

  it("keeps publishing retired keys (RELAY_RETIRED_JWKS) beside the current one, public parts only", async () => {
    const retired = await generateKeyPair("relay-retired-1");
    const retiredEnv = {
      ...env,
      // A private JWK pasted by mistake must not leak its `d`; the current kid is not listed twice.
      RELAY_RETIRED_JWKS: JSON.stringify({
        keys: [retired.privateJwk, { ...testKeys.relay.publicJwk, kid: testKeys.relay.privateJwk.kid }],
      }),
    } as Env;
    const res = await createApp().fetch(new Request(`${ORIGIN}/.well-known/clawrelay/jwks.json`), retiredEnv);
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([testKeys.relay.privateJwk.kid, "relay-retired-1"]);
    expect(jwks.keys[1]).toEqual({ ...retired.publicJwk, alg: "EdDSA", use: "sig" });
    for (const key of jwks.keys) expect(key).not.toHaveProperty("d");
  });

  it("a valid receipt for an agent homed here reaches its connector; a replay is refused", async () => {
    const alice = await knownAgent("alice");
    const receiptId = `01JRECEIPT${Date.now()}`.slice(0, 26);
    const token = await remoteToken(alice.id, receiptId);
    const res = await postReceipt(token);
    expect(res.status).toBe(202);
    const { socket } = await connect(alice);
    const [item] = await socket.items(1);
    expect(item).toMatchObject({
      kind: "receipt",
      receipt: { receiptId, status: "expired", correlationId: "corr-remote-00001" },
    });
    socket.close();
    const replay = await postReceipt(await remoteToken(alice.id, receiptId));
    expect(replay.status).toBe(409);
    expect(await errorCode(replay)).toBe("idempotency_key_reused");
  });

  it("refuses an untrusted relay, a forged signature, an agent not homed here, and a non-JWT body — storing nothing", async () => {
    const alice = await knownAgent("alice");
    const untrusted = await remoteToken(
      alice.id,
      "01JUNTRUSTED00000000000000",
      testKeys.remoteRelay.privateJwk as Ed25519PrivateJwk,
      "https://stranger.example",
    );
    expect(await errorCode(await postReceipt(untrusted))).toBe("invalid_token");
    const forged = await remoteToken(
      alice.id,
      "01JFORGED000000000000000000",
      testKeys.forgedRemote.privateJwk as Ed25519PrivateJwk,
    );
    const forgedRes = await postReceipt(forged);
    expect(forgedRes.status).toBe(401);
    expect(await errorCode(forgedRes)).toBe("invalid_signature");
    // An agent homed elsewhere (its token names another relay) gets no receipts here.
    const elsewhere = await makeAgent(uniqueId("carol"), { relay: "https://other-relay.example" });
    expect((await signedCall(elsewhere, "GET", `/v1/agents/${elsewhere.id}/status`)).status).toBe(200);
    const notHomed = await postReceipt(await remoteToken(elsewhere.id, "01JNOTHOMED0000000000000000"));
    expect(notHomed.status).toBe(404);
    expect(await errorCode(notHomed)).toBe("unknown_recipient");
    expect(await errorCode(await postReceipt("garbage"))).toBe("invalid_token");
    expect((await postReceipt("x", "application/json")).status).toBe(415);
    expect((await statusOf(alice)).queue.receipts.items).toBe(0);
  });
});

describe("receipts to other relays", () => {
  it("a sender homed on another relay: the receipt is retried behind a per-destination breaker that shows in status", async () => {
    // Its token outlives the hour of retries the clock moves through.
    const bob = await knownAgent("bob", { lifetimeSeconds: 2 * 3600 });
    const remoteAlice = await makeAgent(uniqueId("ralice"), { relay: REMOTE });
    const sent = await sendOk(remoteAlice, bob, { payload: 1, ttlSeconds: 5 });
    await advanceClock(bob.id, 6000);
    await fireAlarm(bob.id);
    expect((await messageRecord(bob, bob, sent.messageId)).json.state).toBe("expired");
    // The remote relay refuses connections: five failed attempts open its breaker.
    for (let i = 0; i < 6; i++) {
      await advanceClock(bob.id, 11 * 60_000);
      await fireAlarm(bob.id);
    }
    const status = await statusOf(bob);
    expect(status.receiptBreakers).toEqual([
      expect.objectContaining({ destination: REMOTE, consecutiveFailures: expect.any(Number) }),
    ]);
    expect(
      ((status as unknown as { receiptBreakers: { consecutiveFailures: number }[] }).receiptBreakers[0]
        ?.consecutiveFailures ?? 0) >= 5,
    ).toBe(true);
  });
});

describe("the session alarm", () => {
  it("is never armed at or before the session's now, so an alarm() re-arming for due work is not dropped", async () => {
    // workerd deletes an alarm that alarm() re-arms for the very millisecond it runs in (seen
    // under wrangler dev: a receipt retry chain stalled for good), so due work is armed for now + 1.
    const bob = await knownAgent("bob");
    const stub = sessionStub(bob.id);
    const now = Date.now() + 60_000;
    const { _for, ...receipt } = { ...receiptFor("ralice", "01JDUERETRY000000000000000"), recipient: bob.id };
    await setClock(stub, now, false);
    await runInDurableObject(stub, (instance: unknown, state) => {
      state.storage.sql.exec(
        `INSERT INTO receipt_outbox (receipt_id, destination, sender, body, attempts, next_attempt_at, give_up_at)
         VALUES (?, ?, 'ralice', ?, 1, ?, ?)`,
        receipt.receiptId,
        REMOTE,
        JSON.stringify(receipt),
        now - 10,
        now + 86_400_000,
      );
      // Written past the outbox, so told to the scheduler as the outbox tells it of its rows.
      (instance as { o: { scheduler: DeadlineNotes } }).o.scheduler.made("receipt", now - 10);
    });
    await statusOf(bob);
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBe(now + 1);
  });
});
