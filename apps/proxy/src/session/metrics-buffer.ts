import type { Sql, SqlValue } from "../platform/sql.js";

/** One metrics table: its key and value columns, and how rows of one key add up. */
interface MetricTable {
  readonly table: string;
  readonly keys: readonly string[];
  readonly values: readonly string[];
  /** The values of several rows of one key summed (the compaction's GROUP BY). */
  readonly select: string;
  /** An upsert's `excluded` row added into the stored one. */
  readonly merge: string;
  /** The same merge in memory: `more` added into `into`. */
  add(into: number[], more: readonly number[]): void;
}

const sum = (into: number[], more: readonly number[]) => {
  for (let i = 0; i < into.length; i++) into[i] = (into[i] ?? 0) + (more[i] ?? 0);
};

export const METRIC_TABLES = {
  counters: {
    table: "metric_counters",
    keys: ["name", "labels"],
    values: ["value"],
    select: "SUM(value)",
    merge: "value = value + excluded.value",
    add: sum,
  },
  histograms: {
    table: "metric_histograms",
    keys: ["name", "bucket"],
    values: ["count"],
    select: "SUM(count)",
    merge: "count = count + excluded.count",
    add: sum,
  },
  latency: {
    table: "metric_latency_stats",
    keys: ["name"],
    values: ["count", "sum_ms", "min_ms", "max_ms"],
    select: "SUM(count), SUM(sum_ms), MIN(min_ms), MAX(max_ms)",
    merge: `count = count + excluded.count, sum_ms = sum_ms + excluded.sum_ms,
         min_ms = min(min_ms, excluded.min_ms), max_ms = max(max_ms, excluded.max_ms)`,
    add: (into, [count = 0, total = 0, min = 0, max = 0]) => {
      into[0] = (into[0] ?? 0) + count;
      into[1] = (into[1] ?? 0) + total;
      into[2] = Math.min(into[2] ?? min, min);
      into[3] = Math.max(into[3] ?? max, max);
    },
  },
} as const satisfies Record<string, MetricTable>;

export type MetricTableName = keyof typeof METRIC_TABLES;

interface PendingRow {
  readonly period: number;
  readonly key: readonly (string | number)[];
  readonly values: number[];
}

/**
 * Metric rows not yet in SQLite (written behind, see write-behind.ts): one entry per distinct
 * row key, merged in memory exactly as the upsert would merge it in SQLite, so a flush is one
 * upsert per key however many events it holds.
 */
export class MetricsBuffer {
  private readonly rows = new Map<MetricTableName, Map<string, PendingRow>>();

  add(name: MetricTableName, period: number, key: readonly (string | number)[], values: readonly number[]): void {
    let pending = this.rows.get(name);
    if (!pending) {
      pending = new Map();
      this.rows.set(name, pending);
    }
    const id = JSON.stringify([period, ...key]);
    const row = pending.get(id);
    if (row) METRIC_TABLES[name].add(row.values, values);
    else pending.set(id, { period, key, values: [...values] });
  }

  hasPending(): boolean {
    return this.rows.size > 0;
  }

  flush(sql: Sql): void {
    for (const [name, pending] of this.rows) {
      const { table, keys, values, merge } = METRIC_TABLES[name];
      const columns = ["period_start", ...keys, ...values];
      const upsert = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})
        ON CONFLICT (period_start, ${keys.join(", ")}) DO UPDATE SET ${merge}`;
      // Each row leaves the buffer once written: a failing statement neither loses nor doubles the others.
      for (const [id, row] of pending) {
        sql.run(upsert, row.period, ...(row.key as SqlValue[]), ...row.values);
        pending.delete(id);
      }
      this.rows.delete(name);
    }
  }
}
