import type { Sql } from "../../platform/sql.js";
import type { Connections } from "../connections/connections.js";
import type { Delivery } from "../delivery/delivery.js";
import { sweepIdempotency } from "../queue/idempotency.js";
import type { Queue } from "../queue/queue.js";
import { sweepRecords } from "../queue/records.js";
import type { HopLog } from "../queue/trace.js";
import type { WriteBehind } from "../write-behind.js";

export interface DueWorkHost {
  readonly sql: Sql;
  readonly recordRetentionMs: number;
  readonly queue: Pick<Queue, "sweepExpired" | "sweepDelayed">;
  readonly connections: Pick<Connections, "sweep">;
  readonly delivery: Pick<Delivery, "sweepAckTimeouts" | "pump">;
  readonly writeBehind: Pick<WriteBehind, "flush">;
  readonly trace: Pick<HopLog, "flush">;
}

/**
 * What the one alarm does (PROTOCOL.md §5): expiry, ack timeouts and redelivery, stale sockets
 * and handshake deadlines, delayed notices, breaker probes, receipt retries (flushed by the
 * caller), the sweeping of old records and idempotency keys, and the counters and
 * metrics written behind. Each sweep is batched; whatever is left makes the next wake due at once.
 */
export function runDueWork(w: DueWorkHost, now: number): void {
  // Expiry first: a standby promoted by the socket checks gets what is in flight at once, and
  // nothing that is already past its TTL.
  w.queue.sweepExpired(now);
  w.connections.sweep(now);
  w.delivery.sweepAckTimeouts(now);
  w.queue.sweepDelayed(now);
  sweepRecords(w.sql, w.trace, now - w.recordRetentionMs);
  sweepIdempotency(w.sql, now);
  w.delivery.pump(now);
  // Whether or not their deadline woke the session: it is awake now, and writing them here
  // (after the sweeps that count) spares a wake of their own up to a second later.
  w.writeBehind.flush();
}
