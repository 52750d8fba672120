import type { HourSummary } from "@clawrelay/protocol";
import type { Sql } from "../../platform/sql.js";
import type { Admission } from "../access/admission.js";
import type { Sockets } from "../connections/sockets.js";
import type { DeliveryBreaker } from "../delivery/breaker.js";
import { metricsView, type SessionMetrics } from "../metrics.js";
import type { Capacity } from "../queue/capacity.js";
import type { DestinationBreakers } from "../receipts/destination-breakers.js";
import type { Meta } from "../storage/meta.js";
import { readCounters, readStatus, type SessionStatus } from "./status.js";

/** What `GET …/status` and the metrics summary show, each part read from its owner. */
export interface ObservedOwners {
  readonly sql: Sql;
  readonly meta: Meta;
  readonly capacity: Pick<Capacity, "lane" | "receipts">;
  readonly metrics: Pick<SessionMetrics, "hours">;
  readonly admission: Pick<Admission, "agentId" | "known">;
  readonly sockets: Pick<Sockets, "status">;
  readonly breaker: Pick<DeliveryBreaker, "status">;
  readonly receiptBreakers: Pick<DestinationBreakers, "status">;
}

export function sessionStatus(o: ObservedOwners, now: number, hours?: HourSummary[]): SessionStatus {
  const knownSince = o.meta.get("known_since") === null ? null : o.meta.getNumber("known_since", now);
  return readStatus(
    {
      sql: o.sql,
      meta: o.meta,
      usage: o.capacity,
      agentId: o.admission.agentId,
      known: o.admission.known,
      sockets: o.sockets.status(),
      breaker: o.breaker.status(now),
      receiptBreakers: o.receiptBreakers.status(now),
      counters: readCounters(o.meta),
      metrics: metricsView(hours ?? o.metrics.hours(now), now, knownSince),
    },
    now,
  );
}
