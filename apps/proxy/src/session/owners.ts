import type { Outcome, Receipt } from "@clawrelay/protocol";
import { type RelayConfig, relayConfig } from "../config.js";
import { wallClock } from "../platform/clock.js";
import { Sql } from "../platform/sql.js";
import { Admission } from "./access/admission.js";
import { Connections } from "./connections/connections.js";
import { Sockets } from "./connections/sockets.js";
import { DeliveryBreaker } from "./delivery/breaker.js";
import { Delivery } from "./delivery/delivery.js";
import { SessionMetrics } from "./metrics.js";
import { sessionStatus } from "./observation/session-status.js";
import { Capacity } from "./queue/capacity.js";
import { Outcomes } from "./queue/outcomes.js";
import { Queue } from "./queue/queue.js";
import { SendBuckets } from "./queue/rate-limit.js";
import { HopLog } from "./queue/trace.js";
import { receiptCourier } from "./receipts/courier.js";
import { DestinationBreakers } from "./receipts/destination-breakers.js";
import { ReceiptEmitter } from "./receipts/emit.js";
import { ReceiptOutbox } from "./receipts/outbox.js";
import { SummaryReporter } from "./report.js";
import { Meta } from "./storage/meta.js";
import { Scheduler } from "./time/scheduler.js";
import { WriteBehind } from "./write-behind.js";

/** The owners of one relay session, each wired to the narrow host it needs and nothing more. */
export interface SessionOwners {
  readonly sql: Sql;
  readonly meta: Meta;
  readonly metrics: SessionMetrics;
  readonly config: RelayConfig;
  readonly admission: Admission;
  readonly sockets: Sockets;
  readonly breaker: DeliveryBreaker;
  readonly receiptBreakers: DestinationBreakers;
  readonly outbox: ReceiptOutbox;
  /** The queue's usage, kept in memory (status and the reconnect_ack read it). */
  readonly capacity: Capacity;
  readonly queue: Queue;
  readonly delivery: Delivery;
  readonly connections: Connections;
  readonly reporter: SummaryReporter;
  readonly scheduler: Scheduler;
  /** The trace's hops, written behind (readers of the hops table flush it first). */
  readonly trace: HopLog;
  /** When meta's counters, the metrics, the trace's hops and the send buckets, held in memory, are written. */
  readonly writeBehind: WriteBehind;
  /** How long finished records are kept. */
  readonly recordRetentionMs: number;
}

/** What the owners need of the Durable Object itself. */
export interface ShellHost {
  /** The session's own `acceptReceipt`: a receipt of one of its messages, to itself as the sender. */
  acceptOwn(sender: string, receipt: Receipt): Promise<Outcome<{ stored: boolean }>>;
}

/** The composition root: builds every owner of a session, in dependency order. */
export function wireOwners(ctx: DurableObjectState, env: Env, shell: ShellHost): SessionOwners {
  const sql = new Sql(ctx.storage.sql);
  const meta = new Meta(sql);
  const metrics = new SessionMetrics(sql);
  const trace = new HopLog(sql);
  const buckets = new SendBuckets(sql);
  const writeBehind = new WriteBehind([meta, metrics, trace, buckets]);
  const config = relayConfig(env);
  const admission = new Admission(sql, meta);
  const agentId = () => admission.agentId;
  const sockets = new Sockets(ctx);
  const breaker = new DeliveryBreaker(meta);
  const recordRetentionMs = config.RELAY_RECORD_RETENTION_SECONDS * 1000;
  const receiptBreakers = new DestinationBreakers(meta, config.RELAY_RECEIPT_BREAKER_OPEN_MS);
  // Late-bound: the scheduler asks owners built after it for their deadlines.
  let connections: Connections | null = null;
  let reporter: SummaryReporter | null = null;
  const scheduler = new Scheduler({
    storage: ctx.storage,
    sql,
    recordRetentionMs,
    socketCheckAt: () => connections?.nextCheckAt() ?? null,
    deliveryActive: () => sockets.active() !== null,
    probeAt: () => (breaker.openedAt !== null ? breaker.probeAt() : null),
    reportDueAt: () => reporter?.dueAt() ?? null,
    flushDueAt: () => writeBehind.dueAt(),
  });
  const courier = receiptCourier({ env, config, agentId, acceptOwn: shell.acceptOwn });
  const outbox = new ReceiptOutbox({
    sql,
    courier,
    breakers: receiptBreakers,
    deadlines: scheduler,
    config,
    now: wallClock,
    agentId,
    flushed: (now) => {
      writeBehind.settled(now);
      scheduler.reschedule(now);
    },
  });
  const receipts = new ReceiptEmitter({ sql, metrics, config, outbox, trace, agentId });
  const capacity = new Capacity(sql, config);
  // The scheduler hears of every deadline written (it keeps them, instead of reading them after each event).
  const deadlines = scheduler;
  const outcomes = new Outcomes({ sql, capacity, metrics, receipts, deadlines });
  const queue = new Queue({
    sql,
    meta,
    config,
    capacity,
    metrics,
    outcomes,
    receipts,
    trace,
    buckets,
    deadlines,
    agentId,
  });
  const delivery = new Delivery({
    sql,
    meta,
    metrics,
    config,
    sockets,
    breaker,
    outcomes,
    receipts,
    queue,
    trace,
    deadlines,
    agentId,
  });
  connections = new Connections({ state: ctx, sockets, sql, meta, metrics, capacity, config, delivery, agentId });
  const observed = { sql, meta, metrics, capacity, admission, sockets, breaker, receiptBreakers };
  reporter = new SummaryReporter({ sql, meta, metrics, env, agentId }, sockets, (now, hours) =>
    sessionStatus(observed, now, hours),
  );
  return {
    ...observed,
    config,
    outbox,
    queue,
    delivery,
    connections,
    reporter,
    scheduler,
    trace,
    writeBehind,
    recordRetentionMs,
  };
}
