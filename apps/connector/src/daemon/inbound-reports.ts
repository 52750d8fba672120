import type { ProcessedFrame } from "@clawrelay/protocol";
import type { Clock } from "./clock.js";
import type { Store } from "./store.js";

const REPORT_BATCH = 256;
const REPORT_FLUSH_MS = 10;

/** The `processed` frames owed to the relay, sent from the store's pending reports. */
export class ReportFlusher {
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** Send a frame on the live link; false when there is none (it stays queued). */
    private readonly send: (frame: ProcessedFrame) => boolean,
  ) {}

  /**
   * Send queued `processed` frames while the link takes them; the sent ones are forgotten in one
   * unsynced commit (a report sent twice after a power cut is harmless: the relay keeps the
   * first terminal outcome).
   */
  flush(): void {
    const { store } = this;
    if (!store.isOpen) return;
    const sent: string[] = [];
    for (const report of store.inbox.pendingReports(REPORT_BATCH)) {
      const frame: ProcessedFrame = {
        type: "processed",
        id: report.id,
        outcome: report.outcome,
        ...(report.reason !== null ? { reason: report.reason } : {}),
      };
      if (!this.send(frame)) break;
      sent.push(report.id);
    }
    if (sent.length === 0) return;
    store.lazily(() =>
      store.batch(() => {
        for (const id of sent) store.inbox.reportSent(id);
      }),
    );
  }

  /**
   * Reports go out at most every REPORT_FLUSH_MS, so a run of deliveries shares one query and one
   * commit instead of paying them per item; `processed` is not on any latency path.
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
