import { describe, expect, it } from "vitest";
import { knownAgent, messageRecord, sendOk, statusOf } from "./support/session.js";
import { connect } from "./support/socket.js";

// The batched `processed` frame (PROTOCOL.md §6): 1–1024 reports, handled as that many single
// frames in order, "processed implies ack" included.
describe("batched processed frame", () => {
  it("a batch of N ids ends N messages with the right receipts, acking those not yet acked", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await sendOk(alice, bob, { payload: i, notify: ["delivered", "processed"] })).messageId);
    }
    await socket.items(5);
    // Only the first two are acked: the batch's outcome implies the others' acks.
    socket.ack(ids.slice(0, 2));
    await expect.poll(async () => (await messageRecord(alice, bob, ids[1]!)).json.state).toBe("acked");
    socket.send({ type: "processed", items: ids.map((id) => ({ id, outcome: "processed" })) });
    for (const id of ids) {
      await expect.poll(async () => (await messageRecord(alice, bob, id)).json.state).toBe("processed");
      expect((await messageRecord(alice, bob, id)).json.receipts.map((r) => r.status)).toEqual([
        "delivered",
        "processed",
      ]);
    }
    expect((await statusOf(bob)).queue).toMatchObject({ items: 0, inFlight: 0 });
    const { socket: aliceSocket } = await connect(alice);
    const receipts = await aliceSocket.items(10);
    const byMessage = (id: string) =>
      receipts.flatMap((r) => (r.kind === "receipt" && r.receipt.messageId === id ? [r.receipt.status] : []));
    for (const id of ids) expect(byMessage(id)).toEqual(["delivered", "processed"]);
    socket.close();
    aliceSocket.close();
  });

  it("a mixed batch gives each message its own outcome and reason; a repeated id keeps the first", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await sendOk(alice, bob, { payload: i })).messageId);
    await socket.items(3);
    socket.ack(ids);
    await expect.poll(async () => (await messageRecord(alice, bob, ids[2]!)).json.state).toBe("acked");
    socket.send({
      type: "processed",
      items: [
        { id: ids[0], outcome: "processed" },
        { id: ids[1], outcome: "failed", reason: "hook said 400" },
        { id: ids[2], outcome: "dead_lettered", reason: "expired_in_inbox" },
        { id: ids[0], outcome: "failed", reason: "late duplicate" },
      ],
    });
    await expect.poll(async () => (await messageRecord(alice, bob, ids[2]!)).json.state).toBe("dead_lettered");
    expect((await messageRecord(alice, bob, ids[0]!)).json.state).toBe("processed");
    expect((await messageRecord(alice, bob, ids[1]!)).json.state).toBe("failed");
    // Failure receipts always go to the sender; `processed` was not asked for.
    const { socket: aliceSocket } = await connect(alice);
    const receipts = await aliceSocket.items(2);
    expect(
      receipts.map((r) => (r.kind === "receipt" ? [r.receipt.messageId, r.receipt.status, r.receipt.reason] : null)),
    ).toEqual([
      [ids[1], "failed", "hook said 400"],
      [ids[2], "dead_lettered", "expired_in_inbox"],
    ]);
    socket.close();
    aliceSocket.close();
  });

  it("a batch of 0 or 1025 items, or with a bad item, is invalid_frame and changes nothing", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: "kept" });
    await socket.items(1);
    socket.ack([sent.messageId]);
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("acked");
    const tooMany = Array.from({ length: 1025 }, () => ({ id: sent.messageId, outcome: "processed" }));
    for (const items of [
      [],
      tooMany,
      [
        { id: sent.messageId, outcome: "processed" },
        { id: sent.messageId, outcome: "eaten" },
      ],
    ]) {
      socket.send({ type: "processed", items });
      expect((await socket.next("error")).code).toBe("invalid_frame");
    }
    expect((await messageRecord(alice, bob, sent.messageId)).json.state).toBe("acked");
    socket.close();
  });
});
