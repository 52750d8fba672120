import { PROTOCOL_LIMITS, type ProcessedFrame, type ProcessedItem } from "@clawrelay/protocol";
import type { Clock } from "./clock.js";
import type { Store } from "./store.js";
import type { PendingReport } from "./store-inbox.js";

/** The most reports one batched `processed` frame may carry (the frame schema's bound). */
const MAX_REPORTS_PER_FRAME = PROTOCOL_LIMITS.maxIdsPerFrame;
const REPORT_FLUSH_MS = 10;
const NO_IDS: ReadonlySet<string> = new Set();

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
  /** Reports may wait in the store: from before a restart, or since the last drain. */
  private waiting = true;

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
   * Returns the ids sent.
   */
  flush(): ReadonlySet<string> {
    const { store } = this;
    const sent = new Set<string>();
    for (;;) {
      if (!store.isOpen) return sent;
      const reports = store.inbox.pendingReports(MAX_REPORTS_PER_FRAME);
      if (reports.length === 0) {
        this.waiting = false;
        return sent;
      }
      if (!this.send(processedFrame(reports))) return sent;
      store.lazily(() =>
        store.batch(() => {
          for (const report of reports) store.inbox.reportSent(report.id);
        }),
      );
      for (const report of reports) sent.add(report.id);
      if (reports.length < MAX_REPORTS_PER_FRAME) {
        this.waiting = false;
        return sent;
      }
    }
  }

  /**
   * The link is about to ack: send the waiting reports now instead, so an item the hook is done
   * with is acked by its `processed` report alone (PROTOCOL.md §6). No query when none waits.
   */
  flushForAcks(): ReadonlySet<string> {
    return this.waiting ? this.flush() : NO_IDS;
  }

  /**
   * Reports go out at most every REPORT_FLUSH_MS, so a run of deliveries shares one query and one
   * commit instead of paying them per item; `processed` is not on any latency path. Called after
   * every report is stored.
   */
  schedule(): void {
    this.waiting = true;
    if (this.scheduled) return;
    this.scheduled = true;
    this.clock.setTimeout(() => {
      this.scheduled = false;
      // An ack may have carried them out already (flushForAcks).
      if (this.waiting) this.flush();
    }, REPORT_FLUSH_MS);
  }
}
