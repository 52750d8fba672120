import { type HourSummary, metricsShardOf, type SessionSummary, SUMMARY_INTERVAL_MS } from "@clawrelay/protocol";
import { log } from "../log.js";
import type { SessionContext } from "./context.js";
import { countConnectedTime } from "./metrics.js";
import type { Sockets } from "./sockets.js";
import type { SessionStatus } from "./status.js";

/**
 * Reports this session's summary to its metrics shard at most every 10 s, and only after
 * something changed: no global object sits on a message's path, and a quiet session costs nothing.
 */
export class SummaryReporter {
  private lastReportAt = 0;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly s: SessionContext,
    private readonly sockets: Sockets,
    private readonly status: (now: number, hours: HourSummary[]) => SessionStatus,
  ) {}

  maybeReport(now: number): void {
    if (!this.s.agentId() || !this.s.metrics.dirty) return;
    const due = this.lastReportAt + SUMMARY_INTERVAL_MS;
    if (now < due || this.inflight) {
      this.s.wakeAt(Math.max(due, now + 1));
      return;
    }
    this.lastReportAt = now;
    countConnectedTime(this.s.metrics, this.s.meta, this.sockets.active() !== null, now);
    this.s.metrics.dirty = false;
    const summary = this.summary(now);
    const shard = this.s.env.METRICS_SHARD.get(
      this.s.env.METRICS_SHARD.idFromName(`shard-${metricsShardOf(summary.agentId)}`),
    );
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
