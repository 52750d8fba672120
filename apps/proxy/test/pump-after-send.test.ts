import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TestAgent } from "./support/agents.js";
import { knownAgent, messageRecord, sendOk, statusOf } from "./support/session.js";
import { advanceClock, connect, fireAlarm, sessionStub, type TestSocket } from "./support/socket.js";

/**
 * Issue 18: a send whose new item is the only queued one is delivered from the values the send
 * holds, without the pump's scan. The frame must be the scan's to the byte, and any other queue
 * (an item backed off or due, a breaker that refuses) must still go through the scan.
 */
const SCAN = /ORDER BY lane, seq/;

/** Counts the session's scans (its `exec`s matching SCAN) from now on. */
async function tapScans(agent: TestAgent): Promise<{ scans: number }> {
  const tap = { scans: 0 };
  await runInDurableObject(sessionStub(agent.id), (_instance, state) => {
    const sql = state.storage.sql as unknown as { exec: (query: string, ...bindings: unknown[]) => unknown };
    const exec = sql.exec.bind(sql);
    sql.exec = (query: string, ...bindings: unknown[]) => {
      if (SCAN.test(query)) tap.scans++;
      return exec(query, ...bindings);
    };
  });
  return tap;
}

/** The text of the one deliver frame `socket` gets (waits for it). */
async function onlyDeliverText(socket: TestSocket): Promise<string> {
  await socket.next("deliver");
  const texts = socket.raw.filter((text) => text.startsWith('{"type":"deliver"'));
  expect(texts).toHaveLength(1);
  return texts[0]!;
}

const stateOf = async (from: TestAgent, to: TestAgent, id: string) => (await messageRecord(from, to, id)).json.state;

describe("a send delivered without the pump's scan", () => {
  const bodies = {
    "every optional field": {
      payload: { text: "héllo ✓", n: [1, 2.5, null], nested: { 'quote"d': "a\\b" } },
      priority: "critical",
      contentType: "application/vnd.test+json",
      conversationId: "conv-0001-abc",
      inReplyTo: "msg-reply-0001",
      notify: ["delivered", "processed"],
      ttlSeconds: 120,
    },
    "no optional field": { payload: "plain" },
  };
  for (const [name, body] of Object.entries(bodies)) {
    it(`builds the frame the scan builds, byte for byte (${name})`, async () => {
      const [alice, bob] = [await knownAgent("alice.fast"), await knownAgent("bob.fast")];
      const { socket } = await connect(bob, { connectorId: "conn-first" });
      const tap = await tapScans(bob);
      const sent = await sendOk(alice, bob, body);
      const fast = await onlyDeliverText(socket);
      expect(tap.scans).toBe(0);
      // The socket closes: the item goes back with its attempt given back, and the next
      // connector gets it from the scan, as attempt 1 again: the same frame.
      socket.close();
      await expect.poll(() => stateOf(alice, bob, sent.messageId)).toBe("queued");
      const { socket: again } = await connect(bob, { connectorId: "conn-second" });
      const scanned = await onlyDeliverText(again);
      expect(tap.scans).toBeGreaterThan(0);
      expect(fast).toBe(scanned);
      expect(JSON.parse(fast).items[0].id).toBe(sent.messageId);
      again.close();
    });
  }
});

describe("a send while other items are queued takes the scan", () => {
  it("an item backed off, then due: the frames keep lane order", async () => {
    const [alice, bob] = [await knownAgent("alice.lane"), await knownAgent("bob.lane")];
    const { socket } = await connect(bob);
    const a = await sendOk(alice, bob, { payload: "a" });
    await socket.items(1);
    socket.send({ type: "nack", ids: [a.messageId], reason: "inbox_full", retryAfterMs: 1000 });
    await expect.poll(() => stateOf(alice, bob, a.messageId)).toBe("queued");
    const tap = await tapScans(bob);

    /** The ids of the deliver frame a send makes, and whether it scanned for them. */
    const sendAndDeliver = async (body: Record<string, unknown>) => {
      const scansBefore = tap.scans;
      const sent = await sendOk(alice, bob, body);
      const ids = (await socket.next("deliver")).items.map((item) => item.id);
      return { id: sent.messageId, ids, scanned: tap.scans > scansBefore };
    };

    // a waits out its backoff: b goes alone, found by the scan.
    const b = await sendAndDeliver({ payload: "b" });
    expect(b).toEqual({ id: b.id, ids: [b.id], scanned: true });

    // a is due, its alarm not yet run: a send of the same lane goes after it, in one frame.
    await advanceClock(bob.id, 1001);
    const c = await sendAndDeliver({ payload: "c" });
    expect(c).toEqual({ id: c.id, ids: [a.messageId, c.id], scanned: true });

    // Again, with a critical send: it goes before the due normal item.
    socket.send({ type: "nack", ids: [a.messageId], reason: "inbox_full", retryAfterMs: 1000 });
    await expect.poll(() => stateOf(alice, bob, a.messageId)).toBe("queued");
    await advanceClock(bob.id, 1001);
    const d = await sendAndDeliver({ payload: "d", priority: "critical" });
    expect(d).toEqual({ id: d.id, ids: [d.id, a.messageId], scanned: true });
    socket.close();
  });

  it("an open breaker holds a send that is the only queued item, until its probe", async () => {
    const [alice, bob] = [await knownAgent("alice.brk"), await knownAgent("bob.brk")];
    const { socket } = await connect(bob);
    const a = await sendOk(alice, bob, { payload: "a", ttlSeconds: 5 });
    for (let i = 0; i < 5; i++) {
      await socket.items(1);
      socket.send({ type: "nack", ids: [a.messageId], reason: "inbox_full" });
    }
    await expect.poll(async () => (await statusOf(bob)).breaker.state).toBe("open");
    await advanceClock(bob.id, 6_000);
    await fireAlarm(bob.id);
    expect(await stateOf(alice, bob, a.messageId)).toBe("expired");
    // Nothing else is queued: the new item is the only one, and the breaker still refuses it.
    const b = await sendOk(alice, bob, { payload: "b" });
    expect((await statusOf(bob)).queue.inFlight).toBe(0);
    expect(socket.frames.filter((frame) => frame.type === "deliver")).toHaveLength(0);
    await advanceClock(bob.id, 30_001);
    await fireAlarm(bob.id);
    expect((await socket.items(1)).map((item) => item.id)).toEqual([b.messageId]);
    socket.close();
  });
});
