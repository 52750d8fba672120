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
  /** Capacity's totals, and the live rows they are the sum of. */
  total: { kept: Usage; rows: Usage };
  liveItems: { kept: number; rows: number };
  /** Per sender kept in memory or with messages live: kept, and the rows. */
  senders: Record<string, { kept: Usage; rows: Usage }>;
}

const ZERO: Usage = { items: 0, bytes: 0 };

/**
 * What a session's owners keep in memory beside what SQLite holds, read in the session itself:
 * a copy that drifted from the rows it stands for shows as a difference here.
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
    const liveRows = sql
      .exec<{ sender: string; items: number; bytes: number }>(
        `SELECT sender, COUNT(*) AS items, SUM(bytes) AS bytes FROM items WHERE ${live} AND kind = 'message' GROUP BY sender`,
      )
      .toArray();
    // Senders kept in memory too, so one kept without live rows shows as a difference.
    const kept = (capacity as unknown as { totals: { senders: Map<string, Usage> } | null }).totals?.senders;
    for (const name of new Set([...(kept?.keys() ?? []), ...liveRows.map((r) => r.sender)])) {
      const rows = liveRows.find((r) => r.sender === name);
      senders[name] = { kept: capacity.sender(name), rows: rows ? usage(rows) : ZERO };
    }
    return {
      inFlight: {
        kept: delivery.inFlight(),
        rows: one<{ n: number }>("SELECT COUNT(*) AS n FROM items WHERE state = 'inflight'").n,
      },
      total: {
        kept: capacity.total(),
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

/** Every kept copy equals the rows: what the tests assert after each step. */
export function agreeing(view: CacheView): CacheView {
  const agree = <T>(v: { kept: T; rows: T }) => ({ kept: v.rows, rows: v.rows });
  return {
    inFlight: agree(view.inFlight),
    total: agree(view.total),
    liveItems: agree(view.liveItems),
    senders: Object.fromEntries(
      Object.entries(view.senders)
        .filter(([, s]) => s.rows.items > 0)
        .map(([name, s]) => [name, agree(s)]),
    ),
  };
}
