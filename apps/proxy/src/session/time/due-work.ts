import type { Sql } from "../../platform/sql.js";
import type { Connections } from "../connections/connections.js";
import type { Delivery } from "../delivery/delivery.js";
import { sweepIdempotency } from "../queue/idempotency.js";
import type { Queue } from "../queue/queue.js";
import { sweepRecords } from "../queue/records.js";

export interface DueWorkHost {
  readonly sql: Sql;
  readonly recordRetentionMs: number;
  readonly queue: Pick<Queue, "sweepExpired" | "sweepDelayed">;
  readonly connections: Pick<Connections, "sweep">;
  readonly delivery: Pick<Delivery, "sweepAckTimeouts" | "pump">;
}

/**
 * What the one alarm does (PROTOCOL.md §5): expiry, ack timeouts and redelivery, stale sockets
 * and handshake deadlines, delayed notices, breaker probes, receipt retries (flushed by the
 * caller), and the sweeping of old records, nonces and idempotency keys. Each sweep is batched;
 * whatever is left makes the next wake due at once.
 */
export function runDueWork(w: DueWorkHost, now: number): void {
  // Expiry first: a standby promoted by the socket checks gets what is in flight at once, and
  // nothing that is already past its TTL.
  w.queue.sweepExpired(now);
  w.connections.sweep(now);
  w.delivery.sweepAckTimeouts(now);
  w.queue.sweepDelayed(now);
  sweepRecords(w.sql, now - w.recordRetentionMs);
  sweepIdempotency(w.sql, now);
  w.delivery.pump(now);
}
