import { type HourSummary, metricsShardOf, type SessionSummary, SUMMARY_INTERVAL_MS } from "@clawrelay/protocol";
import { log } from "../log.js";
import type { Sql } from "../platform/sql.js";
import { metricsShardStub } from "../platform/stubs.js";
import type { Sockets } from "./connections/sockets.js";
import { countConnectedTime, type SessionMetrics } from "./metrics.js";
import type { SessionStatus } from "./observation/status.js";
import type { Meta } from "./storage/meta.js";

export interface ReporterHost {
  readonly sql: Sql;
  readonly meta: Meta;
  readonly metrics: SessionMetrics;
  readonly env: Env;
  agentId(): string;
}

/**
 * Reports this session's summary to its metrics shard at most every 10 s, and only after
 * something changed: no global object sits on a message's path, and a quiet session costs nothing.
 */
export class SummaryReporter {
  private lastReportAt = 0;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly s: ReporterHost,
    private readonly sockets: Pick<Sockets, "active">,
    private readonly status: (now: number, hours: HourSummary[]) => SessionStatus,
  ) {}

  /** When the next report is due (for the scheduler); null while there is nothing to report. */
  dueAt(): number | null {
    if (!this.s.agentId() || !this.s.metrics.dirty) return null;
    return this.lastReportAt + SUMMARY_INTERVAL_MS;
  }

  maybeReport(now: number): void {
    const due = this.dueAt();
    if (due === null || now < due || this.inflight) return;
    this.lastReportAt = now;
    countConnectedTime(this.s.metrics, this.s.meta, this.sockets.active() !== null, now);
    this.s.metrics.dirty = false;
    const summary = this.summary(now);
    const shard = metricsShardStub(this.s.env, metricsShardOf(summary.agentId));
    this.inflight = shard
      .report(summary)
      .catch((err: unknown) => {
        this.s.metrics.dirty = true;
        log("warn", {
          event: "metrics_report_failed",
          agentId: summary.agentId,
          error: err instanceof Error ? err.message : "unknown",
        });
      })
      .finally(() => {
        this.inflight = null;
      });
  }

  summary(now: number): SessionSummary {
    const hours = this.s.metrics.hours(now);
    const status = this.status(now, hours);
    const failures = this.s.sql.all<{
      id: string;
      correlation_id: string;
      sender: string;
      terminal: string;
      finished_at: number;
    }>(
      `SELECT id, correlation_id, sender, terminal, finished_at FROM items
       WHERE terminal IN ('failed', 'expired', 'shed', 'dead_lettered') AND resolved_at IS NULL
       ORDER BY finished_at DESC LIMIT 20`,
    );
    return {
      agentId: status.agentId,
      at: now,
      known: status.known,
      connections: status.connections,
      queue: status.queue,
      breaker: status.breaker,
      receiptBreakers: status.receiptBreakers,
      hours,
      fiveMinutes: this.s.metrics.fiveMinutes(now),
      recentFailures: failures.map((f) => {
        const reason = this.s.sql.one<{ reason: string | null }>(
          "SELECT reason FROM receipts_sent WHERE item_id = ? AND status = ? LIMIT 1",
          f.id,
          f.terminal,
        );
        return {
          messageId: f.id,
          correlationId: f.correlation_id,
          from: f.sender,
          status: f.terminal,
          at: f.finished_at,
          reason: reason?.reason ?? null,
        };
      }),
    };
  }
}
