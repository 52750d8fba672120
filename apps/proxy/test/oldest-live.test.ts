import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OLDEST_LIVE_SQL } from "../src/session/storage/items.js";
import { knownAgent } from "./support/session.js";
import { sessionStub } from "./support/socket.js";

/** Rows written straight into a real session's schema: seq, lane, state, enqueued_at. */
type Row = [seq: number, lane: number, state: string, enqueuedAt: number];

async function oldestLive(agentName: string, rows: readonly Row[]) {
  const agent = await knownAgent(agentName);
  return runInDurableObject(sessionStub(agent.id), (_instance, state) => {
    const sql = state.storage.sql;
    sql.exec("DELETE FROM items");
    for (const [seq, lane, itemState, enqueuedAt] of rows) {
      sql.exec(
        `INSERT INTO items (seq, id, kind, lane, sender, correlation_id, bytes, state, enqueued_at, expires_at, ack_deadline, finished_at)
         VALUES (?, ?, 'message', ?, 'alice', 'c', 1, ?, ?, ?, ?, ?)`,
        seq,
        `item-${seq}`,
        lane,
        itemState,
        enqueuedAt,
        enqueuedAt + 60_000,
        itemState === "inflight" ? enqueuedAt + 30_000 : null,
        itemState === "queued" || itemState === "inflight" ? null : enqueuedAt + 1,
      );
    }
    const oldest = sql.exec<{ enqueued_at: number }>(OLDEST_LIVE_SQL).toArray()[0]?.enqueued_at ?? null;
    const plan = sql
      .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${OLDEST_LIVE_SQL}`)
      .toArray()
      .map((row) => row.detail);
    return { oldest, plan };
  });
}

describe("the oldest live item (status and reconnect_ack)", () => {
  it("is the lowest seq among the queued items of every lane and the items in flight", async () => {
    const rows: Row[] = [
      [1, 1, "acked", 100],
      [2, 0, "processed", 200],
      [3, 2, "queued", 300],
      [4, 1, "inflight", 400],
      [5, 0, "queued", 500],
      [6, 1, "queued", 600],
    ];
    const oldestOf = async (name: string, keep: (row: Row) => boolean) =>
      (await oldestLive(name, rows.filter(keep))).oldest;
    expect(await oldestOf("carol.oldest", () => true)).toBe(300);
    // In flight, then queued in another lane, each the oldest in turn.
    expect(await oldestOf("dave.oldest", ([seq]) => seq !== 3)).toBe(400);
    expect(await oldestOf("erin.oldest", ([seq]) => seq > 4)).toBe(500);
    expect(await oldestOf("frank.oldest", ([, , state]) => state === "inflight")).toBe(400);
  });

  it("is none when only finished records are left", async () => {
    const { oldest } = await oldestLive("gina.oldest", [
      [1, 1, "acked", 100],
      [2, 1, "expired", 200],
    ]);
    expect(oldest).toBeNull();
  });

  it("reads through the live-state indexes, never a scan of the records", async () => {
    const { plan } = await oldestLive("hank.oldest", []);
    expect(plan.join("\n")).toMatch(/items_ready/);
    expect(plan.join("\n")).toMatch(/items_inflight/);
    expect(plan.some((detail) => /^SCAN items\b(?! USING)/.test(detail))).toBe(false);
  });
});
