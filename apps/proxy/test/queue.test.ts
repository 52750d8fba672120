import { describe, expect, it } from "vitest";
import { adminCall, signedCall } from "./support/agents.js";
import { knownAgent, messageRecord, send, sendOk, statusOf } from "./support/session.js";
import { advanceClock, connect, fireAlarm } from "./support/socket.js";

describe("send", () => {
  it("answers 202 with a ULID, the correlation id, expiresAt and queueDepth", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const before = Date.now();
    const answer = await sendOk(
      alice,
      bob,
      { payload: { hi: 1 }, ttlSeconds: 60 },
      { correlationId: "corr-send-000001" },
    );
    expect(answer.messageId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(answer).toMatchObject({
      correlationId: "corr-send-000001",
      status: "queued",
      duplicate: false,
      queueDepth: 1,
    });
    expect(answer.expiresAt as number).toBeGreaterThanOrEqual(before + 60_000);
  });

  it("a never-seen recipient → 404 unknown_recipient; admin registration makes it known", async () => {
    const alice = await knownAgent("alice");
    const ghost = { ...alice, id: `ghost-${Date.now()}` };
    const res = await send(alice, ghost, { payload: 1 });
    expect(res.status).toBe(404);
    expect(res.json.error?.code).toBe("unknown_recipient");
    expect((await adminCall("PUT", `/v1/admin/agents/${ghost.id}`)).status).toBe(200);
    expect((await send(alice, ghost, { payload: 1 })).status).toBe(202);
  });

  it("policy allow:false → 403 sender_blocked; others still get through", async () => {
    const [alice, bob, carol] = [await knownAgent("alice"), await knownAgent("bob"), await knownAgent("carol")];
    const put = await signedCall(bob, "PUT", `/v1/agents/${bob.id}/policy`, {
      body: JSON.stringify({ peers: { [alice.id]: { allow: false } } }),
    });
    expect(put.status).toBe(200);
    const blocked = await send(alice, bob, { payload: 1 });
    expect(blocked.status).toBe(403);
    expect(blocked.json.error?.code).toBe("sender_blocked");
    expect((await send(carol, bob, { payload: 1 })).status).toBe(202);
  });

  it("only the agent itself or an admin may set its policy", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const res = await signedCall(alice, "PUT", `/v1/agents/${bob.id}/policy`, {
      body: JSON.stringify({ defaults: { allow: true } }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_owner");
    expect((await adminCall("PUT", `/v1/agents/${bob.id}/policy`, { defaults: { ratePerMinute: 5 } })).status).toBe(
      200,
    );
  });

  it("rate limit: a burst of 30, then 429 with Retry-After until the next token", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    for (let i = 0; i < 30; i++) await sendOk(alice, bob, { payload: i });
    const limited = await send(alice, bob, { payload: 31 });
    expect(limited.status).toBe(429);
    expect(limited.json.error?.code).toBe("rate_limited");
    // 60 a minute: one token a second.
    expect(limited.headers.get("retry-after")).toBe("1");
    expect((limited.json.error as { retryAfterSeconds?: number }).retryAfterSeconds).toBe(1);
    await advanceClock(bob.id, 1000);
    expect((await send(alice, bob, { payload: 32 })).status).toBe(202);
  });

  it("a per-peer rate from the policy sets Retry-After", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    await signedCall(bob, "PUT", `/v1/agents/${bob.id}/policy`, {
      body: JSON.stringify({ peers: { [alice.id]: { ratePerMinute: 6, burst: 1 } } }),
    });
    await sendOk(alice, bob, { payload: 1 });
    const limited = await send(alice, bob, { payload: 2 });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("10");
  });

  it("idempotency: same key and body → 200 duplicate with the original answer; another body → 409", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const first = await sendOk(alice, bob, { payload: { n: 1 } }, { idempotencyKey: "idem-key-000001" });
    const again = await send(alice, bob, { payload: { n: 1 } }, { idempotencyKey: "idem-key-000001" });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ ...first, duplicate: true });
    const other = await send(alice, bob, { payload: { n: 2 } }, { idempotencyKey: "idem-key-000001" });
    expect(other.status).toBe(409);
    expect(other.json.error?.code).toBe("idempotency_key_reused");
    // Scope is per sender: carol may use the same key.
    const carol = await knownAgent("carol");
    expect((await send(carol, bob, { payload: { n: 1 } }, { idempotencyKey: "idem-key-000001" })).status).toBe(202);
    expect((await statusOf(bob)).queue.items).toBe(2);
  });
});

describe("order and expiry", () => {
  it("delivers lane first, then arrival (FIFO within a lane)", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const sent: string[] = [];
    for (const [priority, n] of [
      ["low", 1],
      ["normal", 2],
      ["critical", 3],
      ["low", 4],
      ["normal", 5],
      ["critical", 6],
    ] as const) {
      await sendOk(alice, bob, { payload: { n }, priority });
      sent.push(String(n));
    }
    const { socket } = await connect(bob);
    const items = await socket.items(6);
    expect(items.map((i) => (i.kind === "message" ? (i.payload as { n: number }).n : -1))).toEqual([3, 6, 2, 5, 1, 4]);
    socket.close();
  });

  it("an item deep in the queue expires by its own deadline, with an expired receipt to its sender", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    for (let i = 0; i < 5; i++) await sendOk(alice, bob, { payload: i, ttlSeconds: 3600 });
    const short = await sendOk(alice, bob, { payload: "short", ttlSeconds: 30 }, { correlationId: "corr-expire-0001" });
    for (let i = 0; i < 5; i++) await sendOk(alice, bob, { payload: i, ttlSeconds: 3600 });
    await advanceClock(bob.id, 31_000);
    await fireAlarm(bob.id);
    const record = await messageRecord(alice, bob, short.messageId);
    expect(record.json.state).toBe("expired");
    expect(record.json.receipts.map((r) => r.status)).toEqual(["expired"]);
    const status = await statusOf(bob);
    expect(status.queue.lanes.normal.items).toBe(10);
    // The receipt reaches alice's own session as a critical item, with the correlation id.
    const { socket } = await connect(alice);
    const [item] = await socket.items(1);
    expect(item?.kind).toBe("receipt");
    if (item?.kind === "receipt") {
      expect(item.receipt).toMatchObject({
        status: "expired",
        messageId: short.messageId,
        correlationId: "corr-expire-0001",
        recipient: bob.id,
      });
    }
    socket.close();
  });
});
