import { runInDurableObject } from "cloudflare:test";
import type { Delivery } from "../../src/session/delivery/delivery.js";
import type { Capacity, Usage } from "../../src/session/queue/capacity.js";
import { sessionStub } from "./socket.js";

/** The owners whose in-memory copies are checked here (private to the session: reached by a cast). */
interface Internals {
  o: { delivery: Delivery; queue: { s: { capacity: Capacity } } };
}

export interface CacheView {
  /** Delivery's in-flight count, and COUNT(*) over the rows. */
  inFlight: { kept: number; rows: number };
  /** Capacity's totals, the usage tables, and the live rows themselves. */
  total: { kept: Usage; table: Usage; rows: Usage };
  liveItems: { kept: number; rows: number };
  /** Per sender with anything live, or a row in sender_usage: kept, table, rows. */
  senders: Record<string, { kept: Usage; table: Usage; rows: Usage }>;
}

const ZERO: Usage = { items: 0, bytes: 0 };

/**
 * What a session's owners keep in memory beside what SQLite holds, read in the session itself:
 * a copy that drifted from its table shows as a difference here.
 */
export async function cacheView(agentId: string): Promise<CacheView> {
  return runInDurableObject(sessionStub(agentId), (instance: unknown, state: DurableObjectState) => {
    const { delivery, queue } = (instance as Internals).o;
    const capacity = queue.s.capacity;
    const sql = state.storage.sql;
    const one = <T extends Record<string, SqlStorageValue>>(q: string) => sql.exec<T>(q).one();
    const usage = (row: { items: number | null; bytes: number | null }): Usage => ({
      items: row.items ?? 0,
      bytes: row.bytes ?? 0,
    });
    const live = "state IN ('queued', 'inflight')";
    const senders: CacheView["senders"] = {};
    const tableRows = sql
      .exec<{ sender: string; items: number; bytes: number }>("SELECT * FROM sender_usage")
      .toArray();
    const liveRows = sql
      .exec<{ sender: string; items: number; bytes: number }>(
        `SELECT sender, COUNT(*) AS items, SUM(bytes) AS bytes FROM items WHERE ${live} AND kind = 'message' GROUP BY sender`,
      )
      .toArray();
    for (const name of new Set([...tableRows, ...liveRows].map((r) => r.sender))) {
      const table = tableRows.find((r) => r.sender === name);
      const rows = liveRows.find((r) => r.sender === name);
      senders[name] = {
        kept: capacity.sender(name),
        table: table ? usage(table) : ZERO,
        rows: rows ? usage(rows) : ZERO,
      };
    }
    return {
      inFlight: {
        kept: delivery.inFlight(),
        rows: one<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE state = 'inflight'").n,
      },
      total: {
        kept: capacity.total(),
        table: usage(one("SELECT SUM(items) AS items, SUM(bytes) AS bytes FROM lane_usage") as never),
        rows: usage(
          one(`SELECT COUNT(*) AS items, SUM(bytes) AS bytes FROM items WHERE ${live} AND kind = 'message'`) as never,
        ),
      },
      liveItems: {
        kept: capacity.liveItems(),
        rows: one<{ n: number }>(`SELECT COUNT(*) AS n FROM items WHERE ${live}`).n,
      },
      senders,
    };
  });
}

/** Every kept copy equals its table and the rows: what the tests below assert after each step. */
export function agreeing(view: CacheView): CacheView {
  const agree = <T>(v: { kept: T; rows: T }) => ({ kept: v.rows, rows: v.rows });
  return {
    inFlight: agree(view.inFlight),
    total: { kept: view.total.rows, table: view.total.rows, rows: view.total.rows },
    liveItems: agree(view.liveItems),
    senders: Object.fromEntries(
      Object.entries(view.senders)
        .filter(([, s]) => s.rows.items > 0)
        .map(([name, s]) => [name, { kept: s.rows, table: s.rows, rows: s.rows }]),
    ),
  };
}
