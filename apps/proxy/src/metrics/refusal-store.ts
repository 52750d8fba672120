import { errorCodeSchema } from "@clawrelay/protocol";
import { z } from "zod";
import type { Sql } from "../platform/sql.js";
import { emptyRollup, REFUSAL_COUNTER, type ShardRollup } from "./aggregate.js";
import { counterKey } from "./digest.js";
import { type HourTotals, windowStart } from "./periods.js";

/**
 * Refused requests (PROTOCOL.md §3: failures before the signature, and every 401) are counted
 * outside the relay sessions, here in the metrics shards, keyed by hour and code only — never by
 * an agent id, which a refused caller chose freely. They show as `auth_failures{code}`
 * (REFUSAL_COUNTER), the counter name the sessions used before, so every view reads them as it did.
 */
export const REFUSAL_MIGRATION = `CREATE TABLE refusal_hours (
     hour INTEGER NOT NULL, code TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (hour, code)
   ) WITHOUT ROWID;
   CREATE TABLE refusal_totals (code TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;`;

/** One batch entry an isolate sends: how many requests it refused with `code` in `hour`. */
export const refusalCountSchema = z.object({
  hour: z.number().int().nonnegative(),
  code: errorCodeSchema,
  count: z.number().int().positive().max(1_000_000_000),
});
export type RefusalCount = z.infer<typeof refusalCountSchema>;

export class RefusalStore {
  constructor(private readonly sql: Sql) {}

  /** Adds a batch; hours already outside the 48 h window count in the totals only. */
  record(entries: readonly RefusalCount[], now: number): void {
    const since = windowStart(now);
    for (const entry of entries) {
      if (entry.hour >= since) {
        this.sql.run(
          `INSERT INTO refusal_hours (hour, code, count) VALUES (?, ?, ?)
           ON CONFLICT (hour, code) DO UPDATE SET count = count + excluded.count`,
          entry.hour,
          entry.code,
          entry.count,
        );
      }
      this.sql.run(
        `INSERT INTO refusal_totals (code, count) VALUES (?, ?)
         ON CONFLICT (code) DO UPDATE SET count = count + excluded.count`,
        entry.code,
        entry.count,
      );
    }
  }

  prune(now: number): void {
    this.sql.run("DELETE FROM refusal_hours WHERE hour < ?", windowStart(now));
  }

  /** The refusals as a rollup (hours and monotonic totals), to merge with the agents' rollup. */
  rollup(now: number, includeAgents: boolean): ShardRollup {
    const rollup = emptyRollup(includeAgents);
    const hours = new Map<number, HourTotals>();
    const rows = this.sql.all<{ hour: number; code: string; count: number }>(
      "SELECT hour, code, count FROM refusal_hours WHERE hour >= ? ORDER BY hour",
      windowStart(now),
    );
    for (const row of rows) {
      const hour = hours.get(row.hour) ?? { hour: row.hour, counters: {}, histograms: {} };
      hour.counters[counterKey(REFUSAL_COUNTER, { code: row.code })] = row.count;
      hours.set(row.hour, hour);
    }
    rollup.hours = [...hours.values()];
    for (const row of this.sql.all<{ code: string; count: number }>("SELECT code, count FROM refusal_totals")) {
      rollup.cumulative.counters[counterKey(REFUSAL_COUNTER, { code: row.code })] = row.count;
    }
    return rollup;
  }
}
