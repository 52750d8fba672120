import type { DeliveryBreaker } from "./breaker.js";
import type { ConnectionHandler } from "./connection.js";
import type { SessionContext } from "./context.js";
import type { Delivery } from "./delivery.js";
import { sweepDelayed, sweepExpired } from "./queue.js";
import { sweepRecords } from "./records.js";

/**
 * The one alarm does all timed work (PROTOCOL.md §5): expiry, ack timeouts and redelivery,
 * stale sockets and handshake deadlines, delayed notices, breaker probes, receipt retries
 * (flushed by the caller), and the sweeping of old records, nonces and idempotency keys.
 * Each sweep is batched; whatever is left makes the next wake due at once.
 */
export function runAlarm(s: SessionContext, delivery: Delivery, connections: ConnectionHandler, now: number): void {
  // Expiry first: a standby promoted by the socket checks gets what is in flight at once, and
  // nothing that is already past its TTL.
  sweepExpired(s, now);
  connections.sweep(now);
  delivery.sweepAckTimeouts(now);
  sweepDelayed(s, now);
  sweepRecords(s.sql, now - s.config.RELAY_RECORD_RETENTION_SECONDS * 1000);
  s.sql.run(
    "DELETE FROM idempotency WHERE (sender, key) IN (SELECT sender, key FROM idempotency WHERE expires_at <= ? LIMIT 500)",
    now,
  );
  delivery.pump(now);
}

/**
 * Deadlines of timed work kept in storage, each an indexed MIN lookup, read in one statement:
 * this runs after every unit of work, and one exec costs less than seven.
 */
const DEADLINES_SQL = `SELECT
  (SELECT expires_at FROM items WHERE state IN ('queued', 'inflight') ORDER BY expires_at LIMIT 1) AS expiry,
  (SELECT ack_deadline FROM items WHERE state = 'inflight' ORDER BY ack_deadline LIMIT 1) AS ack,
  (SELECT delayed_due FROM items WHERE delayed_due IS NOT NULL ORDER BY delayed_due LIMIT 1) AS delayed,
  (SELECT next_attempt_at FROM receipt_outbox ORDER BY next_attempt_at LIMIT 1) AS receipt,
  (SELECT finished_at FROM items WHERE finished_at IS NOT NULL ORDER BY finished_at LIMIT 1) AS finished,
  (SELECT expires_at FROM idempotency ORDER BY expires_at LIMIT 1) AS idempotency,
  (SELECT next_attempt_at FROM items WHERE state = 'queued' AND next_attempt_at > 0 ORDER BY next_attempt_at LIMIT 1) AS backoff`;

type Deadlines = Record<
  "expiry" | "ack" | "delayed" | "receipt" | "finished" | "idempotency" | "backoff",
  number | null
>;

/** The earliest time any timed work is due, from indexed MIN lookups only. */
export function nextWake(
  s: SessionContext,
  breaker: DeliveryBreaker,
  socketDeadline: number | null,
  hasActive: boolean,
): number | null {
  const d = s.sql.one<Deadlines>(DEADLINES_SQL);
  const candidates: (number | null | undefined)[] = [
    socketDeadline,
    d?.expiry,
    d?.ack,
    d?.delayed,
    d?.receipt,
    // Finished records are swept once past retention.
    typeof d?.finished === "number" ? d.finished + s.config.RELAY_RECORD_RETENTION_SECONDS * 1000 : null,
    d?.idempotency,
  ];
  // Redelivery backoff and breaker probes only matter while a connector can take the items.
  if (hasActive) candidates.push(d?.backoff, breaker.openedAt !== null ? breaker.probeAt() : null);
  let next: number | null = null;
  for (const at of candidates) if (typeof at === "number" && (next === null || at < next)) next = at;
  return next;
}
