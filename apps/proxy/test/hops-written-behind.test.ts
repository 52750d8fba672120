import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Sql } from "../src/platform/sql.js";
import { HopLog, MAX_PENDING_HOPS } from "../src/session/queue/trace.js";
import { METRICS_FLUSH_AFTER_MS } from "../src/session/write-behind.js";
import type { TestAgent } from "./support/agents.js";
import { setClock } from "./support/clock.js";
import { knownAgent, messageRecord, sendOk } from "./support/session.js";
import { connect, sessionStub } from "./support/socket.js";

/** What the session's SQLite holds (read past the session, so nothing is flushed for the read). */
function stored(agent: TestAgent, id: string) {
  return runInDurableObject(sessionStub(agent.id), (_instance, state) => {
    const sql = state.storage.sql;
    const item = sql
      .exec<{ state: string; attempts: number }>("SELECT state, attempts FROM items WHERE id = ?", id)
      .toArray()[0];
    const hops = sql.exec<{ hop: string }>("SELECT hop FROM hops WHERE item_id = ? ORDER BY id", id).toArray();
    const orphans = sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM hops WHERE item_id NOT IN (SELECT id FROM items)")
      .one().n;
    return { state: item?.state ?? null, attempts: item?.attempts ?? null, hops: hops.map((h) => h.hop), orphans };
  });
}

/** Bob's session on a clock stopped a minute ahead (no alarm fires by itself), one message sent out. */
async function sentOnStoppedClock(prefix: string) {
  const [alice, bob] = [await knownAgent(`alice.${prefix}`), await knownAgent(`bob.${prefix}`)];
  const at = Date.now() + 60_000;
  await setClock(sessionStub(bob.id), at, false);
  const connectorId = `conn-${prefix}`;
  const { socket } = await connect(bob, { connectorId });
  const id = (await sendOk(alice, bob, { payload: prefix })).messageId;
  await socket.items(1);
  return { alice, bob, socket, id, at, connectorId };
}

/** Issue 18: a message's hops are written behind; every reader still sees each one at once. */
describe("trace hops written behind", () => {
  it("a trace shows every hop in order right after the send, the ack and the processed report", async () => {
    const { alice, bob, socket, id, at } = await sentOnStoppedClock("order");
    expect((await stored(bob, id)).hops).toEqual([]);
    const alarm = await runInDurableObject(sessionStub(bob.id), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeLessThanOrEqual(at + METRICS_FLUSH_AFTER_MS);
    const trace = async () => (await messageRecord(alice, bob, id)).json.trace.map((h) => h.hop);
    expect(await trace()).toEqual(["received", "enqueued", "sent"]);
    socket.ack([id]);
    await expect.poll(async () => (await stored(bob, id)).state).toBe("acked");
    expect(await trace()).toEqual(["received", "enqueued", "sent", "acked"]);
    socket.send({ type: "processed", id, outcome: "processed" });
    await expect.poll(async () => (await stored(bob, id)).state).toBe("processed");
    expect(await trace()).toEqual(["received", "enqueued", "sent", "acked", "processed", "receipt_emitted"]);
    socket.close();
  });

  it("the flush deadline's alarm writes them, in order", async () => {
    const { bob, socket, id, at } = await sentOnStoppedClock("alarm");
    socket.ack([id]);
    await expect.poll(async () => (await stored(bob, id)).state).toBe("acked");
    expect((await stored(bob, id)).hops).toEqual([]);
    await setClock(sessionStub(bob.id), at + METRICS_FLUSH_AFTER_MS, false);
    expect(await runDurableObjectAlarm(sessionStub(bob.id))).toBe(true);
    expect((await stored(bob, id)).hops).toEqual(["received", "enqueued", "sent", "acked"]);
    socket.close();
  });

  it("a nacked item (its attempt given back) still counts as sent while its `sent` hop is in memory", async () => {
    const { bob, socket, id } = await sentOnStoppedClock("nack");
    socket.send({ type: "nack", ids: [id], reason: "inbox_full", retryAfterMs: 60_000 });
    await expect.poll(async () => (await stored(bob, id)).attempts).toBe(0);
    // Nothing in SQLite says it was sent: only the hop log in memory does.
    expect(await stored(bob, id)).toMatchObject({ state: "queued", hops: [] });
    socket.ack([id]);
    await expect.poll(async () => (await stored(bob, id)).state).toBe("acked");
    socket.close();
  });

  it("a requeued item named by a reconnect's lastReceivedId is acked, not a resync", async () => {
    const { bob, socket, id, connectorId } = await sentOnStoppedClock("requeue");
    socket.close();
    await expect.poll(async () => (await stored(bob, id)).state).toBe("queued");
    expect(await stored(bob, id)).toMatchObject({ attempts: 0, hops: [] });
    const { socket: again, ack } = await connect(bob, { connectorId, lastReceivedId: id });
    expect(ack.resync).toBe(false);
    expect((await stored(bob, id)).state).toBe("acked");
    again.close();
  });

  it("the retention purge leaves no orphan hops", async () => {
    const { bob, socket, id, at } = await sentOnStoppedClock("purge");
    socket.ack([id]);
    await expect.poll(async () => (await stored(bob, id)).state).toBe("acked");
    // Past retention with the hops still in memory: the purge must write them before deleting.
    await setClock(sessionStub(bob.id), at + 86_400_000 + 1, false);
    expect(await runDurableObjectAlarm(sessionStub(bob.id))).toBe(true);
    expect(await stored(bob, id)).toEqual({ state: null, attempts: null, hops: [], orphans: 0 });
    socket.close();
  });

  it("never holds more than MAX_PENDING_HOPS in memory", async () => {
    const bob = await knownAgent("bob.bound");
    const counts = await runInDurableObject(sessionStub(bob.id), (_instance, state) => {
      const log = new HopLog(new Sql(state.storage.sql));
      const rows = () =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM hops WHERE item_id LIKE 'bound-%'").one().n;
      for (let i = 1; i < MAX_PENDING_HOPS; i++) log.recordOne(`bound-${i}`, "enqueued", i);
      const before = rows();
      log.recordOne("bound-last", "enqueued", MAX_PENDING_HOPS);
      return { before, after: rows(), pending: log.hasPending() };
    });
    expect(counts).toEqual({ before: 0, after: MAX_PENDING_HOPS, pending: false });
  });
});
