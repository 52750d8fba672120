import { type Receipt, receiptSchema } from "@clawrelay/protocol";
import { log } from "../log.js";
import type { SessionContext } from "./context.js";
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

/**
 * Deliver due receipts from the outbox. Local senders get it in their own relay session by RPC
 * (idempotent by receiptId, so a retry after a lost answer cannot duplicate it); senders homed on
 * another relay by the courier, behind one breaker per destination. Failures back off
 * exponentially for up to 24 h, then the receipt is dropped with a log line (it stays in the record).
 */
export async function flushReceiptOutbox(
  s: SessionContext,
  courier: ReceiptCourier,
  breakers: DestinationBreakers,
  now: () => number,
): Promise<void> {
  const due = s.sql.all<OutboxRow>(
    "SELECT * FROM receipt_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
    now(),
    FLUSH_BATCH,
  );
  await Promise.all(due.map((row) => deliverOne(s, courier, breakers, row, now)));
  const next = s.sql.one<{ at: number }>(
    "SELECT next_attempt_at AS at FROM receipt_outbox ORDER BY next_attempt_at LIMIT 1",
  );
  if (next) s.wakeAt(next.at);
}

async function deliverOne(
  s: SessionContext,
  courier: ReceiptCourier,
  breakers: DestinationBreakers,
  row: OutboxRow,
  now: () => number,
): Promise<void> {
  const receipt = receiptSchema.parse(JSON.parse(row.body));
  const remote = row.destination !== "local";
  if (remote && !breakers.allows(row.destination, now())) {
    const retryAt = breakers.retryAt(row.destination) ?? now() + s.config.RELAY_RECEIPT_RETRY_BASE_MS;
    s.sql.run("UPDATE receipt_outbox SET next_attempt_at = ? WHERE receipt_id = ?", retryAt, row.receipt_id);
    return;
  }
  const fields = {
    correlationId: receipt.correlationId,
    messageId: receipt.messageId,
    agentId: s.agentId(),
    destination: row.destination,
  };
  try {
    await courier(row.destination, row.sender, receipt);
    s.sql.run("DELETE FROM receipt_outbox WHERE receipt_id = ?", row.receipt_id);
    if (remote) breakers.success(row.destination);
  } catch (err) {
    const at = now();
    if (remote) breakers.failure(row.destination, at);
    if (at >= row.give_up_at) {
      s.sql.run("DELETE FROM receipt_outbox WHERE receipt_id = ?", row.receipt_id);
      log("error", { event: "receipt_abandoned", ...fields });
      return;
    }
    const attempts = row.attempts + 1;
    const next = Math.min(
      row.give_up_at,
      at + receiptRetryDelay(attempts, s.config.RELAY_RECEIPT_RETRY_BASE_MS, s.config.RELAY_RECEIPT_RETRY_MAX_MS),
    );
    s.sql.run(
      "UPDATE receipt_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE receipt_id = ?",
      attempts,
      next,
      String(err instanceof Error ? err.message : err).slice(0, 200),
      row.receipt_id,
    );
    log("warn", { event: "receipt_retry", ...fields, attempts });
  }
}

/** Delay before the next try after `attempts` failures: base × 2^attempts, at most `maxMs`. */
export function receiptRetryDelay(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts, 20));
}
