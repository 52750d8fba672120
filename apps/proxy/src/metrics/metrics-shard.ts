import { DurableObject } from "cloudflare:workers";
import { METRICS_RETENTION_MS, type SessionSummary, sessionSummarySchema } from "@clawrelay/protocol";
import { migrate, Sql } from "../platform/sql.js";
import { mergeRollups, rollupShard, type ShardRollup } from "./aggregate.js";
import { type AgentDigest, addTotals, digestSummary, emptyTotals, type Totals } from "./digest.js";
import { REFUSAL_MIGRATION, type RefusalCount, RefusalStore, refusalCountSchema } from "./refusal-store.js";
import { type FlowRates, fiveMinuteSeries, hourlySeries } from "./series.js";

const MIGRATIONS = [
  `CREATE TABLE agents (
     agent_id TEXT PRIMARY KEY,
     at INTEGER NOT NULL,
     json TEXT NOT NULL,
     digest TEXT NOT NULL
   );
   CREATE INDEX agents_at ON agents (at);
   CREATE TABLE retired (id INTEGER PRIMARY KEY CHECK (id = 0), totals TEXT NOT NULL);`,
  // v2: refused requests by hour and code (PROTOCOL.md §3), never in a relay session.
  REFUSAL_MIGRATION,
] as const;

/** Agents silent this long leave the shard (their monotonic totals stay, in `retired`). */
export const SHARD_AGENT_RETENTION_MS = METRICS_RETENTION_MS;

/**
 * One shard of the operator aggregate: the latest summary of each session that hashes here
 * (`shard-${metricsShardOf(agentId)}`). Sessions report at most every 10 s; nothing on a
 * message's path touches a shard. A report costs one indexed read and one row write.
 */
export class MetricsShard extends DurableObject<Env> {
  private readonly sql: Sql;
  private readonly refusals: RefusalStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = new Sql(ctx.storage.sql);
    this.refusals = new RefusalStore(this.sql);
    ctx.blockConcurrencyWhile(async () => migrate(this.sql, MIGRATIONS));
  }

  /** Keeps the latest summary of the session; an older one arriving late is ignored. */
  async report(summary: SessionSummary): Promise<void> {
    const parsed = sessionSummarySchema.safeParse(summary);
    if (!parsed.success) throw new Error(`invalid session summary: ${parsed.error.issues[0]?.message ?? "unknown"}`);
    const fresh = parsed.data;
    const previous = this.sql.one<{ at: number; digest: string }>(
      "SELECT at, digest FROM agents WHERE agent_id = ?",
      fresh.agentId,
    );
    if (previous && previous.at > fresh.at) return;
    const digest = digestSummary(fresh, previous ? (JSON.parse(previous.digest) as AgentDigest) : null);
    // The 5-minute buckets live on in the digest, without the per-peer label; kept here with it
    // they would multiply the row by the number of peers 72 times more.
    const { fiveMinutes: _inDigest, ...kept } = fresh;
    this.sql.run(
      `INSERT INTO agents (agent_id, at, json, digest) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET at = excluded.at, json = excluded.json, digest = excluded.digest`,
      fresh.agentId,
      fresh.at,
      JSON.stringify(kept),
      JSON.stringify(digest),
    );
  }

  /** Refusal counts a Worker isolate batched (see metrics/refusals.ts); a malformed batch is refused whole. */
  async recordRefusals(entries: RefusalCount[], now: number = Date.now()): Promise<void> {
    const parsed = refusalCountSchema.array().max(1000).safeParse(entries);
    if (!parsed.success) throw new Error(`invalid refusal counts: ${parsed.error.issues[0]?.message ?? "unknown"}`);
    this.refusals.record(parsed.data, now);
  }

  /** Every summary held here, newest report per agent (for inspection; the views use `rollup`). */
  async read(now: number = Date.now()): Promise<SessionSummary[]> {
    this.prune(now);
    return this.sql
      .all<{ json: string }>("SELECT json FROM agents ORDER BY agent_id")
      .map((row) => JSON.parse(row.json) as SessionSummary);
  }

  /**
   * This shard's partial aggregate; per-agent rows only when asked (dashboard, Prometheus), and
   * with `agentLimit` only the rows of that many agents (RELAY_METRICS_AGENT_SERIES).
   */
  async rollup(now: number = Date.now(), includeAgents = false, agentLimit?: number): Promise<ShardRollup> {
    this.prune(now);
    const digests = this.sql
      .all<{ digest: string }>("SELECT digest FROM agents")
      .map((row) => JSON.parse(row.digest) as AgentDigest);
    const limit =
      agentLimit !== undefined && Number.isSafeInteger(agentLimit) && agentLimit > 0 ? agentLimit : undefined;
    const agents = rollupShard(digests, this.retired(), now, includeAgents, limit);
    return mergeRollups([agents, this.refusals.rollup(now, includeAgents)], now);
  }

  /** One agent's own hourly and 5-minute series (the dashboard's agent page); null if it never reported here. */
  async agentRates(agentId: string, now: number = Date.now()): Promise<FlowRates | null> {
    const row = this.sql.one<{ digest: string }>("SELECT digest FROM agents WHERE agent_id = ?", agentId);
    if (!row) return null;
    const rollup = rollupShard([JSON.parse(row.digest) as AgentDigest], emptyTotals(), now, false);
    return { hourly: hourlySeries(rollup.hours, now), fiveMinute: fiveMinuteSeries(rollup.fiveMinutes, now) };
  }

  private retired(): Totals {
    const row = this.sql.one<{ totals: string }>("SELECT totals FROM retired WHERE id = 0");
    return row ? (JSON.parse(row.totals) as Totals) : emptyTotals();
  }

  /** Drops agents not heard from for 48 h, folding their totals into `retired` so counters never go back. */
  private prune(now: number): void {
    this.refusals.prune(now);
    const stale = this.sql.all<{ digest: string }>(
      "SELECT digest FROM agents WHERE at < ?",
      now - SHARD_AGENT_RETENTION_MS,
    );
    if (stale.length === 0) return;
    const retired = this.retired();
    for (const row of stale) addTotals(retired, (JSON.parse(row.digest) as AgentDigest).cumulative);
    this.sql.run(
      "INSERT INTO retired (id, totals) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET totals = excluded.totals",
      JSON.stringify(retired),
    );
    this.sql.run("DELETE FROM agents WHERE at < ?", now - SHARD_AGENT_RETENTION_MS);
  }
}
