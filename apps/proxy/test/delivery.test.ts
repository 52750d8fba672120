import { describe, expect, it } from "vitest";
import { signedCall } from "./support/agents.js";
import { knownAgent, messageRecord, sendOk, statusOf } from "./support/session.js";
import { advanceClock, connect, fireAlarm } from "./support/socket.js";

const ACK_TIMEOUT = 30_000;

describe("delivery", () => {
  it("pushes messages to the connector, which acks them; acked items leave the queue", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(
      alice,
      bob,
      { payload: { text: "hi" }, contentType: "application/json" },
      { correlationId: "corr-deliver-001" },
    );
    const [item] = await socket.items(1);
    expect(item).toMatchObject({
      kind: "message",
      id: sent.messageId,
      correlationId: "corr-deliver-001",
      from: alice.id,
      priority: "normal",
      payload: { text: "hi" },
      attempt: 1,
    });
    socket.ack([sent.messageId]);
    await expect.poll(async () => (await statusOf(bob)).queue.items).toBe(0);
    const record = await messageRecord(alice, bob, sent.messageId);
    expect(record.json.state).toBe("acked");
    expect(record.json.trace.map((h) => h.hop)).toEqual(["received", "enqueued", "sent", "acked"]);
    socket.close();
  });

  it("batches at most 64 items a frame", async () => {
    const bob = await knownAgent("bob");
    const senders = await Promise.all([1, 2, 3].map(() => knownAgent("s")));
    for (let i = 0; i < 90; i++) await sendOk(senders[i % 3]!, bob, { payload: i });
    const { socket } = await connect(bob);
    const first = await socket.next("deliver");
    expect(first.items).toHaveLength(64);
    const second = await socket.next("deliver");
    expect(second.items).toHaveLength(26);
    socket.close();
  });

  it("redelivers after the ack timeout with the attempt counted", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: 1, priority: "critical" });
    expect((await socket.messages(1))[0]?.attempt).toBe(1);
    await advanceClock(bob.id, ACK_TIMEOUT + 1);
    await fireAlarm(bob.id);
    const [again] = await socket.messages(1);
    expect(again).toMatchObject({ id: sent.messageId, attempt: 2 });
    socket.ack([sent.messageId]);
    socket.close();
  });

  it("after the attempt budget the message is dead-lettered with a receipt to the sender", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: 1, priority: "critical" }, { correlationId: "corr-dead-000001" });
    for (let attempt = 1; attempt <= 10; attempt++) {
      expect((await socket.messages(1))[0]?.attempt).toBe(attempt);
      await advanceClock(bob.id, ACK_TIMEOUT + 1);
      await socket.ping(); // a live socket: only its acks are missing
      await fireAlarm(bob.id);
      // Consecutive timeouts open the delivery breaker; the next send is its half-open probe.
      if (attempt < 10 && (await statusOf(bob)).breaker.state === "open") {
        await advanceClock(bob.id, 30_001);
        await socket.ping();
        await fireAlarm(bob.id);
      }
    }
    const record = await messageRecord(alice, bob, sent.messageId);
    expect(record.json.state).toBe("dead_lettered");
    expect(record.json.receipts.map((r) => r.status)).toEqual(["dead_lettered"]);
    const { socket: aliceSocket } = await connect(alice);
    const [receipt] = await aliceSocket.items(1);
    expect(receipt).toMatchObject({
      kind: "receipt",
      receipt: { status: "dead_lettered", correlationId: "corr-dead-000001", attempts: 10 },
    });
    socket.close();
    aliceSocket.close();
  });

  it("a nack puts items back without counting an attempt", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: 1 });
    expect((await socket.messages(1))[0]?.attempt).toBe(1);
    socket.send({ type: "nack", ids: [sent.messageId], reason: "inbox_full", retryAfterMs: 5000 });
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("queued");
    await advanceClock(bob.id, 5001);
    await fireAlarm(bob.id);
    const [again] = await socket.messages(1);
    expect(again?.attempt).toBe(1);
    socket.close();
  });

  it("acks for unknown or never-sent ids have no effect", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const queued = await sendOk(alice, bob, { payload: 1 });
    const { socket: standbyless } = await connect(bob);
    await standbyless.items(1);
    standbyless.ack(["01JZZZZZZZZZZZZZZZZZZZZZZZ", "not-a-real-id"]);
    standbyless.send({ type: "processed", id: "01JZZZZZZZZZZZZZZZZZZZZZZZ", outcome: "processed" });
    await expect.poll(async () => (await statusOf(bob)).queue.inFlight).toBe(1);
    expect((await messageRecord(alice, bob, queued.messageId)).json.state).toBe("inflight");
    standbyless.close();
  });

  it("breaker: 5 nacks open it, nothing is sent while open, a half-open probe after 30 s closes it", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: 1 });
    for (let i = 0; i < 5; i++) {
      const [item] = await socket.items(1);
      expect(item?.id).toBe(sent.messageId);
      socket.send({ type: "nack", ids: [sent.messageId], reason: "inbox_full" });
    }
    await expect.poll(async () => (await statusOf(bob)).breaker.state).toBe("open");
    // While open, a new message is queued but not sent.
    await sendOk(alice, bob, { payload: 2 });
    await fireAlarm(bob.id);
    expect(socket.frames.filter((f) => f.type === "deliver")).toHaveLength(0);
    await advanceClock(bob.id, 30_001);
    expect((await statusOf(bob)).breaker.state).toBe("half_open");
    await fireAlarm(bob.id);
    const probe = await socket.next("deliver");
    // One batch probes; nothing else goes out until it is answered.
    socket.ack(probe.items.map((i) => i.id));
    await expect.poll(async () => (await statusOf(bob)).breaker.state).toBe("closed");
    await expect.poll(async () => (await statusOf(bob)).queue.items).toBe(0);
    socket.close();
  });
});

describe("processed and receipts", () => {
  it("processed frames become receipts; notify asks for delivered and processed; one terminal only", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(
      alice,
      bob,
      { payload: 1, notify: ["delivered", "processed"] },
      { correlationId: "corr-notify-0001" },
    );
    await socket.items(1);
    // One frame at a time, each awaited: workerd may hand the session frames sent back to back in
    // another order (see Delivery.processed), and this test is about the order they are handled in.
    socket.ack([sent.messageId]);
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("acked");
    socket.send({ type: "processed", id: sent.messageId, outcome: "processed" });
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("processed");
    socket.send({ type: "processed", id: sent.messageId, outcome: "failed", reason: "late duplicate" });
    // An invalid frame after the late duplicate: its error answer means the duplicate was handled
    // (unless workerd reordered them, in which case this test checks less but cannot fail falsely).
    socket.send("not json");
    expect((await socket.next("error")).code).toBe("invalid_frame");
    expect((await messageRecord(alice, bob, sent.messageId)).json.state).toBe("processed");
    const record = await messageRecord(bob, bob, sent.messageId);
    expect(record.json.receipts.map((r) => r.status)).toEqual(["delivered", "processed"]);
    const { socket: aliceSocket } = await connect(alice);
    const receipts = await aliceSocket.items(2);
    expect(receipts.map((r) => (r.kind === "receipt" ? [r.receipt.status, r.receipt.correlationId] : null))).toEqual([
      ["delivered", "corr-notify-0001"],
      ["processed", "corr-notify-0001"],
    ]);
    socket.close();
    aliceSocket.close();
  });

  it("a processed frame before its ack (lost, or handled out of order) acks the item first", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: "early", notify: ["delivered", "processed"] });
    await socket.items(1);
    socket.send({ type: "processed", id: sent.messageId, outcome: "processed" });
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("processed");
    const record = (await messageRecord(bob, bob, sent.messageId)).json;
    expect(record.receipts.map((r) => r.status)).toEqual(["delivered", "processed"]);
    const status = await statusOf(bob);
    expect(status.queue).toMatchObject({ items: 0, bytes: 0, inFlight: 0 });
    socket.ack([sent.messageId]); // the late ack changes nothing
    socket.send("not json");
    expect((await socket.next("error")).code).toBe("invalid_frame");
    expect((await messageRecord(bob, bob, sent.messageId)).json.receipts).toHaveLength(2);
    expect((await statusOf(bob)).counters.acked).toBe(status.counters.acked);
    socket.close();
  });

  it("a failed outcome is always sent; processed without notify is recorded but not sent", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const quiet = await sendOk(alice, bob, { payload: "quiet" });
    const failing = await sendOk(alice, bob, { payload: "fails" });
    await socket.items(2);
    socket.ack([quiet.messageId, failing.messageId]);
    socket.send({ type: "processed", id: quiet.messageId, outcome: "processed" });
    socket.send({ type: "processed", id: failing.messageId, outcome: "failed", reason: "hook said 400" });
    await expect.poll(async () => (await messageRecord(alice, bob, failing.messageId)).json.state).toBe("failed");
    expect((await messageRecord(alice, bob, quiet.messageId)).json.receipts.map((r) => r.status)).toEqual([
      "processed",
    ]);
    const { socket: aliceSocket } = await connect(alice);
    const [only] = await aliceSocket.items(1);
    expect(only).toMatchObject({
      kind: "receipt",
      receipt: { status: "failed", messageId: failing.messageId, reason: "hook said 400" },
    });
    await fireAlarm(alice.id);
    expect(aliceSocket.frames.filter((f) => f.type === "deliver")).toHaveLength(0);
    socket.close();
    aliceSocket.close();
  });

  it("a delayed notice goes once when an item is still queued after RELAY_DELAYED_NOTICE_SECONDS", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const sent = await sendOk(alice, bob, { payload: 1, notify: ["delayed"] });
    await advanceClock(bob.id, 900_001);
    await fireAlarm(bob.id);
    await fireAlarm(bob.id);
    const record = await messageRecord(alice, bob, sent.messageId);
    expect(record.json.receipts.map((r) => r.status)).toEqual(["delayed"]);
    expect(record.json.state).toBe("queued");
  });
});

describe("session metrics", () => {
  it("status shows 48-hour latency percentiles, totals per peer and outcome, uptime and reconnects, never auth failures", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await sendOk(alice, bob, { payload: i })).messageId);
    const items = await socket.items(4);
    socket.ack(items.map((i) => i.id));
    socket.send({ type: "processed", id: ids[0], outcome: "processed" });
    socket.send({ type: "processed", id: ids[1], outcome: "failed", reason: "bad input" });
    await expect.poll(async () => (await messageRecord(alice, bob, ids[1]!)).json.state).toBe("failed");
    // A bad signature on a request addressed to bob never reaches bob's session (PROTOCOL.md §3):
    // refusals are counted by code in the metrics shards (refusals.test.ts), not as bob's.
    const tampered = await signedCall(bob, "GET", `/v1/agents/${bob.id}/status`, {
      mutate: (i) => (i.headers["x-claw-timestamp"] = String(Number(i.headers["x-claw-timestamp"]) + 1)),
    });
    expect(tampered.status).toBe(401);
    const { metrics } = await statusOf(bob);
    expect(Object.keys(metrics?.totals ?? {}).filter((key) => key.startsWith("auth_failures"))).toEqual([]);
    expect(metrics?.totals[`messages_in{peer="${alice.id}"}`]).toBe(4);
    expect(metrics?.totals[`messages_out{peer="${alice.id}",outcome="acked"}`]).toBe(4);
    expect(metrics?.totals[`messages_out{peer="${alice.id}",outcome="processed"}`]).toBe(1);
    expect(metrics?.totals[`messages_out{peer="${alice.id}",outcome="failed"}`]).toBe(1);
    expect(metrics?.totals['receipts{status="failed"}']).toBe(1);
    expect(metrics?.latencyMs.ack.count).toBe(4);
    expect(metrics?.latencyMs.ack.p99).toBeGreaterThanOrEqual(0);
    expect(metrics?.latencyMs.processed.count).toBe(1);
    expect(metrics?.reconnects).toBe(1);
    socket.close();
  });
});
