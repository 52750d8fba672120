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
  connections.sweep(now);
  sweepExpired(s, now);
  delivery.sweepAckTimeouts(now);
  sweepDelayed(s, now);
  sweepRecords(s.sql, now - s.config.RELAY_RECORD_RETENTION_SECONDS * 1000);
  s.sql.run(
    "DELETE FROM idempotency WHERE (sender, key) IN (SELECT sender, key FROM idempotency WHERE expires_at <= ? LIMIT 500)",
    now,
  );
  delivery.pump(now);
}

/** The earliest time any timed work is due, from indexed MIN lookups only. */
export function nextWake(
  s: SessionContext,
  breaker: DeliveryBreaker,
  socketDeadline: number | null,
  hasActive: boolean,
): number | null {
  const candidates: (number | null | undefined)[] = [
    socketDeadline,
    s.sql.one<{ at: number }>(
      "SELECT expires_at AS at FROM items WHERE state IN ('queued', 'inflight') ORDER BY expires_at LIMIT 1",
    )?.at,
    s.sql.one<{ at: number }>(
      "SELECT ack_deadline AS at FROM items WHERE state = 'inflight' ORDER BY ack_deadline LIMIT 1",
    )?.at,
    s.sql.one<{ at: number }>(
      "SELECT delayed_due AS at FROM items WHERE delayed_due IS NOT NULL ORDER BY delayed_due LIMIT 1",
    )?.at,
    s.sql.one<{ at: number }>("SELECT next_attempt_at AS at FROM receipt_outbox ORDER BY next_attempt_at LIMIT 1")?.at,
    retentionDue(s),
    s.sql.one<{ at: number }>("SELECT expires_at AS at FROM idempotency ORDER BY expires_at LIMIT 1")?.at,
  ];
  if (hasActive) {
    candidates.push(
      s.sql.one<{ at: number }>(
        "SELECT next_attempt_at AS at FROM items WHERE state = 'queued' AND next_attempt_at > 0 ORDER BY next_attempt_at LIMIT 1",
      )?.at,
      breaker.openedAt !== null ? breaker.probeAt() : null,
    );
  }
  let next: number | null = null;
  for (const at of candidates) if (typeof at === "number" && (next === null || at < next)) next = at;
  return next;
}

function retentionDue(s: SessionContext): number | null {
  const oldest = s.sql.one<{ at: number }>(
    "SELECT finished_at AS at FROM items WHERE finished_at IS NOT NULL ORDER BY finished_at LIMIT 1",
  );
  return oldest ? oldest.at + s.config.RELAY_RECORD_RETENTION_SECONDS * 1000 : null;
}
