import { describe, expect, it } from "vitest";
import { signedCall } from "../support/agents.js";
import { knownAgent, messageRecord, send, sendOk, statusOf } from "../support/session.js";
import { connect } from "../support/socket.js";

// This file runs in the `workers-caps` project: RELAY_QUEUE_MAX_ITEMS=10, RELAY_QUEUE_MAX_BYTES=4096.
describe("capacity", () => {
  it("refuses low-lane sends with 507 once the queue is at 80 % of the item cap", async () => {
    const bob = await knownAgent("bob");
    const senders = await Promise.all([1, 2, 3].map(() => knownAgent("s")));
    // Sender share is 50 % of 10 = 5 items each; spread 8 low items over senders.
    for (let i = 0; i < 8; i++) await sendOk(senders[i % 3]!, bob, { payload: i, priority: "low" });
    const refused = await send(senders[2]!, bob, { payload: 9, priority: "low" });
    expect(refused.status).toBe(507);
    expect(refused.json.error?.code).toBe("queue_full");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // A normal send is still admitted at 80 %.
    await sendOk(senders[2]!, bob, { payload: "n", priority: "normal" });
  });

  it("refuses low-lane sends at 80 % of the byte cap", async () => {
    const bob = await knownAgent("bob");
    const [a, b] = [await knownAgent("a"), await knownAgent("b")];
    // ~1,600 bytes each: two of them reach 80 % of 4,096 bytes.
    await sendOk(a, bob, { payload: "x".repeat(1600), priority: "low" });
    await sendOk(b, bob, { payload: "y".repeat(1600), priority: "low" });
    const refused = await send(b, bob, { payload: "z".repeat(100), priority: "low" });
    expect(refused.status).toBe(507);
  });

  it("at a full queue a normal send sheds the oldest queued low item, whose sender gets a shed receipt", async () => {
    const bob = await knownAgent("bob");
    const [lowSender, n1, n2] = [await knownAgent("low"), await knownAgent("n1"), await knownAgent("n2")];
    const oldestLow = await sendOk(
      lowSender,
      bob,
      { payload: "low-1", priority: "low" },
      { correlationId: "corr-shed-000001" },
    );
    await sendOk(lowSender, bob, { payload: "low-2", priority: "low" });
    for (let i = 0; i < 4; i++) await sendOk(n1, bob, { payload: i, priority: "normal" });
    for (let i = 0; i < 4; i++) await sendOk(n2, bob, { payload: i, priority: "normal" });
    expect((await statusOf(bob)).queue.items).toBe(10);
    const critical = await knownAgent("crit");
    await sendOk(critical, bob, { payload: "urgent", priority: "critical" });
    const status = await statusOf(bob);
    expect(status.queue.items).toBe(10);
    expect(status.queue.lanes.low.items).toBe(1);
    const record = await messageRecord(lowSender, bob, oldestLow.messageId);
    expect(record.json.state).toBe("shed");
    const { socket } = await connect(lowSender);
    const [item] = await socket.items(1);
    expect(item).toMatchObject({
      kind: "receipt",
      receipt: { status: "shed", correlationId: "corr-shed-000001", messageId: oldestLow.messageId },
    });
    socket.close();
  });

  it("with nothing lower to evict, a full queue answers 507", async () => {
    const bob = await knownAgent("bob");
    const senders = await Promise.all([1, 2].map(() => knownAgent("s")));
    for (let i = 0; i < 10; i++) await sendOk(senders[i % 2]!, bob, { payload: i, priority: "critical" });
    const other = await knownAgent("late");
    const full = await send(other, bob, { payload: "x", priority: "normal" });
    expect(full.status).toBe(507);
    expect(full.json.error?.code).toBe("queue_full");
  });

  it("one sender may hold at most 50 % of the caps", async () => {
    const bob = await knownAgent("bob");
    const alice = await knownAgent("alice");
    for (let i = 0; i < 5; i++) await sendOk(alice, bob, { payload: i });
    const over = await send(alice, bob, { payload: 6 });
    expect(over.status).toBe(507);
    expect(over.json.error?.code).toBe("queue_full");
    const carol = await knownAgent("carol");
    await sendOk(carol, bob, { payload: "carol" });
  });
});

// PROTOCOL.md §5 (v1.1): the share is judged after any eviction the send causes.
describe("sender share after eviction", () => {
  it.each([
    ["a peer with senderShare 1 that fills the queue alone", 1, 8, 2, 0],
    ["a sender at the default 50 % beside another sender", null, 3, 2, 5],
  ] as const)(
    "%s: its normal send at a full queue sheds its own oldest low item and is admitted",
    async (_, share, lows, normals, others) => {
      const bob = await knownAgent("bob");
      const [alice, carol] = [await knownAgent("alice"), await knownAgent("carol")];
      if (share !== null) {
        const put = await signedCall(bob, "PUT", `/v1/agents/${bob.id}/policy`, {
          body: JSON.stringify({ peers: { [alice.id]: { senderShare: share } } }),
        });
        expect(put.status).toBe(200);
      }
      const oldestLow = await sendOk(
        alice,
        bob,
        { payload: "low-0", priority: "low" },
        { correlationId: "corr-own-shed-01" },
      );
      for (let i = 1; i < lows; i++) await sendOk(alice, bob, { payload: `low-${i}`, priority: "low" });
      for (let i = 0; i < normals; i++) await sendOk(alice, bob, { payload: `normal-${i}` });
      for (let i = 0; i < others; i++) await sendOk(carol, bob, { payload: `carol-${i}` });
      expect((await statusOf(bob)).queue.items).toBe(10);

      const admitted = await send(alice, bob, { payload: "one more" });
      expect(admitted.status, JSON.stringify(admitted.json)).toBe(202);
      const status = await statusOf(bob);
      expect(status.queue.items).toBe(10);
      expect(status.queue.lanes.low.items).toBe(lows - 1);
      expect((await messageRecord(alice, bob, oldestLow.messageId)).json.state).toBe("shed");
      const { socket } = await connect(alice);
      const [receipt] = await socket.items(1);
      expect(receipt).toMatchObject({
        kind: "receipt",
        receipt: { status: "shed", messageId: oldestLow.messageId, correlationId: "corr-own-shed-01" },
      });
      socket.close();
    },
  );

  it("a sender at its share whose send would shed another sender's item is refused, and nothing is shed", async () => {
    const bob = await knownAgent("bob");
    const [alice, carol] = [await knownAgent("alice"), await knownAgent("carol")];
    const carolLow = await sendOk(carol, bob, { payload: "carol-low", priority: "low" });
    for (let i = 0; i < 4; i++) await sendOk(carol, bob, { payload: `carol-${i}` });
    for (let i = 0; i < 5; i++) await sendOk(alice, bob, { payload: `alice-${i}` });
    const refused = await send(alice, bob, { payload: "over" });
    expect(refused.status).toBe(507);
    expect(refused.json.error?.code).toBe("queue_full");
    expect((await messageRecord(carol, bob, carolLow.messageId)).json.state).toBe("queued");
    expect((await statusOf(bob)).queue.items).toBe(10);
  });
});
