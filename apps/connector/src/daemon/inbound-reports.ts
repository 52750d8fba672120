import { PROTOCOL_LIMITS, type ProcessedFrame, type ProcessedItem } from "@clawrelay/protocol";
import type { Clock } from "./clock.js";
import type { Store } from "./store.js";
import type { PendingReport } from "./store-inbox.js";

/** The most reports one batched `processed` frame may carry (the frame schema's bound). */
const MAX_REPORTS_PER_FRAME = PROTOCOL_LIMITS.maxIdsPerFrame;
/**
 * Reports wait this long for more: each frame costs the relay session one event, and a report is
 * off every latency path (the agent has the message; the sender's `processed` receipt is a
 * notice). 50 ms instead of 10 cut the relay's CPU a message by about 4 % (issue 18).
 */
export const REPORT_FLUSH_MS = 50;

/** One report alone goes in the single form, which a v1 relay also reads; more go batched. */
export function processedFrame(reports: readonly PendingReport[]): ProcessedFrame {
  const items = reports.map((report) => ({
    id: report.id,
    outcome: report.outcome,
    ...(report.reason !== null ? { reason: report.reason } : {}),
  }));
  if (items.length === 1) return { type: "processed", ...(items[0] as ProcessedItem) };
  return { type: "processed", items };
}

/** The `processed` reports owed to the relay, sent from the store's pending reports. */
export class ReportFlusher {
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** Send a frame on the live link; false when there is none (it stays queued). */
    private readonly send: (frame: ProcessedFrame) => boolean,
  ) {}

  /**
   * Send the queued reports while the link takes them, up to 1024 a frame (every frame costs the
   * relay session one event); the sent ones are forgotten in one unsynced commit per frame (a
   * report sent twice after a power cut is harmless: the relay keeps the first terminal outcome).
   */
  flush(): void {
    const { store } = this;
    for (;;) {
      if (!store.isOpen) return;
      const reports = store.inbox.pendingReports(MAX_REPORTS_PER_FRAME);
      if (reports.length === 0 || !this.send(processedFrame(reports))) return;
      store.lazily(() =>
        store.batch(() => {
          for (const report of reports) store.inbox.reportSent(report.id);
        }),
      );
      if (reports.length < MAX_REPORTS_PER_FRAME) return;
    }
  }

  /**
   * Reports go out at most every REPORT_FLUSH_MS, so a run of deliveries shares one query and one
   * commit instead of paying them per item; reading the reports first commits the outcomes that
   * wait (store-inbox-waiting.ts), so the run's outcomes share one commit too, and no report goes
   * out before its outcome is committed. `processed` is not on any latency path.
   */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.clock.setTimeout(() => {
      this.scheduled = false;
      this.flush();
    }, REPORT_FLUSH_MS);
  }
}
