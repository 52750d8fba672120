import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Sql, type SqlValue } from "../src/platform/sql.js";
import { SessionMetrics } from "../src/session/metrics.js";
import { METRICS_FLUSH_AFTER_MS } from "../src/session/write-behind.js";
import type { TestAgent } from "./support/agents.js";
import { setClock } from "./support/clock.js";
import { knownAgent, messageRecord, sendOk, statusOf, uniqueId } from "./support/session.js";
import { connect, sessionStub } from "./support/socket.js";

/** What the session's SQLite holds of the written-behind state (not what its memory says). */
function stored(agent: TestAgent) {
  return runInDurableObject(sessionStub(agent.id), (_instance, state) => {
    const sql = new Sql(state.storage.sql);
    const meta = Object.fromEntries(
      sql
        .all<{ key: string; value: string }>(
          "SELECT key, value FROM meta WHERE key LIKE 'count_%' OR key = 'last_acked_id'",
        )
        .map((r) => [r.key, r.value]),
    );
    const acked = sql.scalar("SELECT COALESCE(SUM(value), 0) FROM metric_counters WHERE name = 'messages_out'");
    const latencies = sql.scalar(
      "SELECT COALESCE(SUM(count), 0) FROM metric_latency_stats WHERE name = 'ack_latency_ms'",
    );
    const buckets = sql.scalar("SELECT COALESCE(SUM(count), 0) FROM metric_histograms WHERE name = 'ack_latency_ms'");
    return { meta, acked, latencies, buckets };
  });
}

/**
 * One message sent to bob and acked, on a clock stopped a minute ahead of the wall clock (so no
 * alarm fires by itself during the test, and every unit of work runs at `at`).
 */
async function ackedOnStoppedClock() {
  const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
  const at = Date.now() + 60_000;
  await setClock(sessionStub(bob.id), at, false);
  const { socket } = await connect(bob);
  const sent = await sendOk(alice, bob, { payload: "counted" });
  await socket.items(1);
  socket.ack([sent.messageId]);
  await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("acked");
  return { alice, bob, socket, sent, at };
}

const NOTHING_STORED = { meta: {}, acked: 0, latencies: 0, buckets: 0 };

describe("counters and metrics written behind (issue 18)", () => {
  it("wait in memory until the flush deadline, which the alarm covers and then writes", async () => {
    const { alice, bob, socket, sent, at } = await ackedOnStoppedClock();
    expect(await stored(bob)).toEqual(NOTHING_STORED);
    const alarm = await runInDurableObject(sessionStub(bob.id), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBe(at + METRICS_FLUSH_AFTER_MS);

    // Work before the deadline leaves them in memory.
    await setClock(sessionStub(bob.id), at + METRICS_FLUSH_AFTER_MS - 1, false);
    await messageRecord(alice, bob, sent.messageId);
    expect(await stored(bob)).toEqual(NOTHING_STORED);

    await setClock(sessionStub(bob.id), at + METRICS_FLUSH_AFTER_MS, false);
    expect(await runDurableObjectAlarm(sessionStub(bob.id))).toBe(true);
    expect(await stored(bob)).toEqual({
      meta: { count_received: "1", count_sent: "1", count_acked: "1", last_acked_id: sent.messageId },
      acked: 1,
      latencies: 1,
      buckets: 1,
    });
    socket.close();
  });

  it("a request at the deadline writes them too, without the alarm", async () => {
    const { alice, bob, socket, sent, at } = await ackedOnStoppedClock();
    await setClock(sessionStub(bob.id), at + METRICS_FLUSH_AFTER_MS, false);
    await messageRecord(alice, bob, sent.messageId);
    expect((await stored(bob)).meta).toMatchObject({ count_acked: "1", last_acked_id: sent.messageId });
    expect((await stored(bob)).acked).toBe(1);
    socket.close();
  });

  it("status and reconnect_ack show them at once, before any is in SQLite", async () => {
    const { alice, bob, socket, sent } = await ackedOnStoppedClock();
    const status = await statusOf(bob);
    expect(status.counters).toMatchObject({ received: 1, sent: 1, acked: 1 });
    expect(status.metrics?.totals[`messages_out{peer="${alice.id}",outcome="acked"}`]).toBe(1);
    expect(status.metrics?.latencyMs.ack.count).toBe(1);
    // Status read the counters from memory; the metrics it read were flushed first.
    expect(await stored(bob)).toEqual({ ...NOTHING_STORED, acked: 1, latencies: 1, buckets: 1 });

    const { socket: standby, ack } = await connect(bob, { connectorId: "second" });
    expect(ack.lastAckedId).toBe(sent.messageId);
    expect((await stored(bob)).meta).toEqual({});
    standby.close();
    socket.close();
  });

  it("a flush is one upsert per distinct row, merged exactly", async () => {
    await runInDurableObject(sessionStub(uniqueId("buffer")), (_instance, state) => {
      const writes: string[] = [];
      const sql = new (class extends Sql {
        override run(query: string, ...params: SqlValue[]): number {
          writes.push(query);
          return super.run(query, ...params);
        }
      })(state.storage.sql);
      const metrics = new SessionMetrics(sql);
      const at = Date.UTC(2026, 0, 5, 10, 1);
      for (let i = 0; i < 10; i++) metrics.count("messages_in", { peer: "alice" }, 1, at + i);
      for (const ms of [6, 7, 500]) metrics.observe("ack_latency_ms", ms, at);
      expect(writes).toEqual([]);
      metrics.flush();
      // One counter row, the histogram's rows (6 and 7 share a bucket; 500 does not), one stats row.
      expect(writes).toHaveLength(1 + 2 + 1);
      expect(sql.all("SELECT count, sum_ms, min_ms, max_ms FROM metric_latency_stats")).toEqual([
        { count: 3, sum_ms: 513, min_ms: 6, max_ms: 500 },
      ]);
      expect(sql.scalar("SELECT value FROM metric_counters")).toBe(10);
      metrics.flush();
      expect(writes).toHaveLength(4);
    });
  });
});
