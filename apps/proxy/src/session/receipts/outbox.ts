import { PROTOCOL_LIMITS, type Receipt, receiptSchema } from "@clawrelay/protocol";
import type { RelayConfig } from "../../config.js";
import { log } from "../../log.js";
import type { Sql } from "../../platform/sql.js";
import type { DeadlineNotes } from "../time/scheduler.js";
import type { DestinationBreakers } from "./destination-breakers.js";

const FLUSH_BATCH = 32;

interface OutboxRow extends Record<string, string | number | null> {
  receipt_id: string;
  destination: string;
  sender: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  give_up_at: number;
}

/** Hands one receipt to its destination; throws when it could not (the row stays and is retried). */
export type ReceiptCourier = (destination: string, sender: string, receipt: Receipt) => Promise<void>;

export interface OutboxHost {
  readonly sql: Sql;
  readonly courier: ReceiptCourier;
  readonly breakers: DestinationBreakers;
  /** Each row's `next_attempt_at` is a deadline of the alarm. */
  readonly deadlines: DeadlineNotes;
  readonly config: Pick<RelayConfig, "RELAY_RECEIPT_RETRY_BASE_MS" | "RELAY_RECEIPT_RETRY_MAX_MS">;
  /** The time after an await (a flush outlives the unit of work that started it). */
  now(): number;
  agentId(): string;
  /** A flush ended: what it left in the outbox is due at new times. */
  flushed(now: number): void;
}

/**
 * The receipt outbox (its table's one owner). Local senders get a receipt in their own relay
 * session by RPC (idempotent by receiptId, so a retry after a lost answer cannot duplicate it);
 * senders homed on another relay by the courier, behind one breaker per destination. Failures back
 * off exponentially for up to 24 h, then the receipt is dropped with a log line (it stays in the record).
 */
export class ReceiptOutbox {
  private flushing: Promise<void> | null = null;

  constructor(private readonly host: OutboxHost) {}

  /** Queue a receipt for its destination and start flushing in the background. */
  add(receipt: Receipt, destination: string, sender: string, now: number): void {
    this.host.sql.run(
      `INSERT INTO receipt_outbox (receipt_id, destination, sender, body, attempts, next_attempt_at, give_up_at)
       VALUES (?, ?, ?, ?, 0, ?, ?)`,
      receipt.receiptId,
      destination,
      sender,
      JSON.stringify(receipt),
      now,
      now + PROTOCOL_LIMITS.receiptRetryWindowSeconds * 1000,
    );
    this.host.deadlines.made("receipt", now);
    // Fire and forget: the outbox row is committed; the alarm retries whatever fails here.
    this.flush().catch((err: unknown) =>
      log("error", {
        event: "receipt_flush_failed",
        agentId: this.host.agentId(),
        error: err instanceof Error ? err.message : "unknown",
      }),
    );
  }

  /** Deliver the due receipts; one flush at a time (a second caller waits for the running one). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.flushDue().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushDue(): Promise<void> {
    const due = this.host.sql.all<OutboxRow>(
      "SELECT * FROM receipt_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, receipt_id LIMIT ?",
      this.host.now(),
      FLUSH_BATCH,
    );
    // One sender's receipts go one after another, in the order they were made (a message's
    // `delivered` before its `processed`: sent at once, the two calls could arrive either way
    // round); different senders' go in parallel.
    const bySender = new Map<string, OutboxRow[]>();
    for (const row of due) {
      const key = `${row.destination} ${row.sender}`;
      bySender.set(key, [...(bySender.get(key) ?? []), row]);
    }
    await Promise.all(
      [...bySender.values()].map(async (rows) => {
        // A row that throws (not a failed delivery: that is retried) does not hold back the rest.
        let failure: unknown = null;
        for (const row of rows) await this.deliverOne(row).catch((err: unknown) => (failure ??= err));
        if (failure !== null) throw failure;
      }),
    );
    this.host.flushed(this.host.now());
  }

  private async deliverOne(row: OutboxRow): Promise<void> {
    const { sql, breakers, config } = this.host;
    const receipt = receiptSchema.parse(JSON.parse(row.body));
    const remote = row.destination !== "local";
    if (remote && !breakers.allows(row.destination, this.host.now())) {
      const retryAt = breakers.retryAt(row.destination) ?? this.host.now() + config.RELAY_RECEIPT_RETRY_BASE_MS;
      sql.run("UPDATE receipt_outbox SET next_attempt_at = ? WHERE receipt_id = ?", retryAt, row.receipt_id);
      this.host.deadlines.made("receipt", retryAt);
      return;
    }
    const fields = {
      correlationId: receipt.correlationId,
      messageId: receipt.messageId,
      agentId: this.host.agentId(),
      destination: row.destination,
    };
    try {
      await this.host.courier(row.destination, row.sender, receipt);
      sql.run("DELETE FROM receipt_outbox WHERE receipt_id = ?", row.receipt_id);
      if (remote) breakers.success(row.destination);
    } catch (err) {
      const at = this.host.now();
      if (remote) breakers.failure(row.destination, at);
      if (at >= row.give_up_at) {
        sql.run("DELETE FROM receipt_outbox WHERE receipt_id = ?", row.receipt_id);
        log("error", { event: "receipt_abandoned", ...fields });
        return;
      }
      const attempts = row.attempts + 1;
      const next = Math.min(
        row.give_up_at,
        at + receiptRetryDelay(attempts, config.RELAY_RECEIPT_RETRY_BASE_MS, config.RELAY_RECEIPT_RETRY_MAX_MS),
      );
      sql.run(
        "UPDATE receipt_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE receipt_id = ?",
        attempts,
        next,
        String(err instanceof Error ? err.message : err).slice(0, 200),
        row.receipt_id,
      );
      this.host.deadlines.made("receipt", next);
      log("warn", { event: "receipt_retry", ...fields, attempts });
    }
  }
}

/** Delay before the next try after `attempts` failures: base × 2^attempts, at most `maxMs`. */
export function receiptRetryDelay(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts, 20));
}
