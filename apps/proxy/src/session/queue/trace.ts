import type { Sql } from "../../platform/sql.js";
import type { WrittenBehind } from "../write-behind.js";

/** Hop names of a message's trace, in the order they normally happen. */
export type HopName =
  | "received"
  | "enqueued"
  | "sent"
  | "acked"
  | "nacked"
  | "ack_timeout"
  | "requeued"
  | "processed"
  | "failed"
  | "dead_lettered"
  | "expired"
  | "shed"
  | "delayed"
  | "receipt_emitted";

/** One hop of one item's trace. */
export interface Hop {
  itemId: string;
  hop: HopName;
  at: number;
  detail?: Record<string, unknown> | undefined;
}

/** Rows per INSERT: four bound values each, under SQLite's (and the runtime's) 100 per statement. */
const HOPS_PER_STATEMENT = 25;

/** Hops held in memory at most before they are written, whatever the write-behind's deadline. */
export const MAX_PENDING_HOPS = 2_000;

/**
 * The trace's hops, written behind (session/write-behind.ts): four hop INSERTs a message in
 * steady traffic were a third of its statements (issue 18). Held in memory in the order they
 * happen and written in that order, 25 rows a statement, so row ids (by which a trace is read
 * back) keep each item's order. Every reader flushes first: the trace read and the retention
 * purge (queue/records.ts), and the "ever sent" check (delivery/wire.ts), which asks
 * `holdsSent` instead of flushing before every ack.
 *
 * An eviction without warning loses at most METRICS_FLUSH_AFTER_MS of hops: a trace missing its
 * last few entries, and an item sent and then given back (nacked, requeued) in those seconds
 * counted as never sent — a late ack of it is ignored and it is delivered again, a reconnect
 * naming it resyncs. At-least-once delivery holds; items, receipts and nonces are written at once.
 */
export class HopLog implements WrittenBehind {
  private pending: Hop[] = [];
  /** Items with a `sent` hop among `pending`. */
  private readonly sentPending = new Set<string>();

  constructor(private readonly sql: Sql) {}

  record(hops: readonly Hop[]): void {
    for (const hop of hops) {
      this.pending.push(hop);
      if (hop.hop === "sent") this.sentPending.add(hop.itemId);
    }
    // Bounded: a backlog drains at thousands of items a second, and 5 s of their hops would be
    // tens of megabytes in an object allotted 128 MB. Written early, they are batched as well.
    if (this.pending.length >= MAX_PENDING_HOPS) this.flush();
  }

  recordOne(itemId: string, hop: HopName, at: number, detail?: Record<string, unknown>): void {
    this.record([{ itemId, hop, at, detail }]);
  }

  /** Whether a `sent` hop of the item waits in memory (the EVER_SENT lookup cannot see it yet). */
  holdsSent(itemId: string): boolean {
    return this.sentPending.has(itemId);
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Writes the pending hops in order; each chunk leaves the buffer once written. */
  flush(): void {
    while (this.pending.length > 0) {
      const chunk = this.pending.slice(0, HOPS_PER_STATEMENT);
      const values: (string | number | null)[] = [];
      for (const { itemId, hop, at, detail } of chunk)
        values.push(itemId, at, hop, detail ? JSON.stringify(detail) : null);
      this.sql.run(
        `INSERT INTO hops (item_id, at, hop, detail) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}`,
        ...values,
      );
      this.pending = this.pending.slice(chunk.length);
    }
    this.sentPending.clear();
  }
}
