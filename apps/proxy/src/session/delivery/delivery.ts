import { PROTOCOL_LIMITS } from "@clawrelay/protocol";
import type { RelayConfig } from "../../config.js";
import { log } from "../../log.js";
import type { Sql } from "../../platform/sql.js";
import type { LiveSocket, Sockets } from "../connections/sockets.js";
import type { SessionMetrics } from "../metrics.js";
import type { DeliveryOutcomes } from "../queue/outcomes.js";
import type { Queue } from "../queue/queue.js";
import type { Hop, HopLog } from "../queue/trace.js";
import type { ReceiptEmitter } from "../receipts/emit.js";
import { DELIVER_COLUMNS, type DeliverRow, OUTCOME_COLUMNS, type OutcomeRow, wantsNotice } from "../storage/items.js";
import type { Meta } from "../storage/meta.js";
import type { DeadlineNotes } from "../time/scheduler.js";
import type { DeliveryBreaker } from "./breaker.js";
import { InFlightCount } from "./in-flight.js";
import { needsResync, requeueConnection, requeueOrphans } from "./requeue.js";
import { resolveFailure } from "./resolve.js";
import { deliverFrame, EVER_SENT, finishRequeued, redeliveryDelay, selectEverSent } from "./wire.js";

const SWEEP_BATCH = 500;

export interface DeliveryHost {
  readonly sql: Sql;
  readonly meta: Meta;
  readonly metrics: Pick<SessionMetrics, "count" | "observe" | "dirty">;
  readonly config: Pick<RelayConfig, "RELAY_MAX_IN_FLIGHT" | "RELAY_ACK_TIMEOUT_MS" | "RELAY_MAX_ATTEMPTS">;
  /** The connector sockets: delivery goes to the active one; the others' connection ids are live. */
  readonly sockets: Pick<Sockets, "active" | "all">;
  readonly breaker: DeliveryBreaker;
  readonly outcomes: DeliveryOutcomes;
  /** The message a send just queued, handed to the pump that follows it. */
  readonly queue: Pick<Queue, "takeJustQueued">;
  readonly receipts: Pick<ReceiptEmitter, "emit">;
  /** The trace's hops, written behind; it knows which `sent` hops are still in memory. */
  readonly trace: Pick<HopLog, "record" | "recordOne" | "holdsSent" | "flush">;
  /** Ack deadlines and redelivery backoffs are the alarm's. */
  readonly deadlines: DeadlineNotes;
  agentId(): string;
}

/** At-least-once delivery to the active connector: batches, acks, nacks, timeouts, the breaker. */
export class Delivery {
  private readonly sockets: Pick<Sockets, "active" | "all">;
  private readonly breaker: DeliveryBreaker;
  private readonly inFlightCount: InFlightCount;

  constructor(private readonly s: DeliveryHost) {
    this.sockets = s.sockets;
    this.breaker = s.breaker;
    this.inFlightCount = new InFlightCount(s.sql, s.outcomes);
  }

  inFlight(): number {
    return this.inFlightCount.value();
  }

  /** Send as much as the in-flight window, the breaker and the active socket allow. */
  pump(now: number): void {
    // Taken by every pump, sent or not, so it is never offered to a later one.
    const justQueued = this.s.queue.takeJustQueued(now);
    const active = this.sockets.active();
    if (!active) return;
    let inFlight = this.inFlight();
    // Live items are queued or in flight: with none queued (delayed, backed-off ones count), no scan.
    let queued = this.s.outcomes.liveItems() - inFlight;
    // A send's new item, the only queued one, is what the scan would find (due now, first in lane order).
    let ready: DeliverRow[] | null = justQueued !== null && queued === 1 ? [justQueued] : null;
    for (;;) {
      if (queued <= 0) return;
      if (!this.breaker.allows(now, inFlight)) return;
      const room = this.s.config.RELAY_MAX_IN_FLIGHT - inFlight;
      if (room <= 0) return;
      const limit = Math.min(PROTOCOL_LIMITS.maxItemsPerDeliverFrame, room);
      const rows =
        ready ??
        this.s.sql.all<DeliverRow>(
          `SELECT ${DELIVER_COLUMNS.sql} FROM items WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY lane, seq LIMIT ?`,
          now,
          limit,
        );
      ready = null;
      if (rows.length === 0) return;
      const sent = this.sendBatch(active, rows, now);
      if (sent === 0) return;
      inFlight += sent;
      queued -= sent;
      if (this.breaker.state(now) === "half_open") {
        this.breaker.probing(now);
        return;
      }
      // Fewer than asked for and all of them sent: nothing else is ready, no need to look again.
      if (rows.length < limit && sent === rows.length) return;
    }
  }

  private sendBatch(socket: LiveSocket, rows: DeliverRow[], now: number): number {
    const { frame, batch } = deliverFrame(rows);
    const deadline = now + this.s.config.RELAY_ACK_TIMEOUT_MS;
    // The batch was just read as queued: one statement puts it all in flight; its hops are written
    // behind. A lone item (a send's, the usual case below saturation) needs no json_each.
    const lone = batch.length === 1 ? batch[0] : undefined;
    this.s.sql.run(
      `UPDATE items SET state = 'inflight', attempts = attempts + 1, ack_deadline = ?, connector_id = ?, next_attempt_at = 0
       WHERE ${lone ? "seq = ?" : "seq IN (SELECT value FROM json_each(?))"}`,
      deadline,
      socket.data.connectionId,
      lone ? lone.seq : JSON.stringify(batch.map((row) => row.seq)),
    );
    this.s.deadlines.made("ack", deadline);
    this.inFlightCount.moved(batch.length);
    const connectorId = socket.data.connectorId;
    this.s.trace.record(
      batch.map(
        (row): Hop => ({ itemId: row.id, hop: "sent", at: now, detail: { connectorId, attempt: row.attempts + 1 } }),
      ),
    );
    try {
      socket.ws.send(frame);
    } catch {
      // The socket died under us; its close handler puts these items back.
      return batch.length;
    }
    this.s.meta.increment("count_sent", batch.length);
    return batch.length;
  }

  ack(ids: readonly string[], now: number): number {
    let acked = 0;
    for (const id of ids) {
      // In flight, the usual case, is one statement; an item requeued after it went out, more.
      const row = this.s.outcomes.finishInFlight(id, now) ?? finishRequeued(this.s, id, now);
      if (!row) continue; // unknown, never sent, or already finished: no effect
      acked++;
      if (row.kind === "message") {
        const hop: Hop = { itemId: row.id, hop: "acked", at: now };
        this.s.metrics.count("messages_out", { peer: row.sender, outcome: "acked" }, 1, now);
        this.s.metrics.observe("ack_latency_ms", now - row.enqueued_at, now);
        this.s.meta.set("last_acked_id", row.id);
        // The ack's hop goes in with the receipt's when there is one.
        if (wantsNotice(row.notify, "delivered")) this.s.receipts.emit(row, "delivered", now, undefined, [hop]);
        else this.s.trace.record([hop]);
        log("info", {
          event: "message_acked",
          correlationId: row.correlation_id,
          messageId: row.id,
          agentId: this.s.agentId(),
          hop: "acked",
        });
      }
    }
    if (acked > 0) {
      this.s.meta.increment("count_acked", acked);
      if (this.breaker.success() === "closed") log("info", { event: "breaker_closed", agentId: this.s.agentId() });
      this.pump(now);
    }
    return acked;
  }

  /** Put items back without counting an attempt; repeated nacks open the breaker. */
  nack(ids: readonly string[], retryAfterMs: number | undefined, reason: string, now: number): void {
    const next = retryAfterMs ? now + retryAfterMs : 0;
    let count = 0;
    for (const id of ids) {
      const changed = this.s.sql.run(
        `UPDATE items SET state = 'queued', attempts = MAX(0, attempts - 1), next_attempt_at = ?, ack_deadline = NULL, connector_id = NULL
         WHERE id = ? AND state = 'inflight'`,
        next,
        id,
      );
      if (changed > 0) {
        count++;
        this.inFlightCount.moved(-1);
        this.s.trace.recordOne(id, "nacked", now, { reason });
      }
    }
    if (count === 0) return;
    if (next > 0) this.s.deadlines.made("backoff", next);
    this.s.meta.increment("count_nacked", count);
    this.onFailure(now);
    this.pump(now);
  }

  /** What the agent did with a message: becomes its terminal receipt. */
  processed(
    id: string,
    outcome: "processed" | "failed" | "dead_lettered",
    reason: string | undefined,
    now: number,
  ): void {
    if (this.s.outcomes.terminateAcked(id, outcome, now, reason)) return; // the usual case, one statement
    const select = `SELECT ${OUTCOME_COLUMNS.sql} FROM items WHERE id = ? AND kind = 'message' AND ${EVER_SENT}`;
    let row = selectEverSent<OutcomeRow>(this.s.sql, this.s.trace, select, id);
    if (!row) return;
    if (row.terminal !== null) {
      if (outcome === "processed") resolveFailure(this.s, row, now);
      return;
    }
    if (!["acked", "inflight", "queued"].includes(row.state)) return;
    if (row.state !== "acked") {
      // An outcome implies the ack (a connector reports only items it stored), which may have been
      // lost with a socket or come after this frame (workerd may reorder one socket's messages
      // under CPU load). Ack first: a `delivered` receipt precedes the terminal one, once.
      this.ack([row.id], now);
      row = selectEverSent<OutcomeRow>(this.s.sql, this.s.trace, select, id);
      if (!row || row.terminal !== null) return;
    }
    this.s.outcomes.terminate(row, outcome, now, reason);
  }

  /**
   * A standby was promoted. The breaker's failures and the backoffs were the old connector not
   * answering: the promoted one starts with a closed breaker and everything due now, so it gets
   * what was in flight at once and in lane order (PROTOCOL.md §6).
   */
  private handOver(now: number): void {
    if (this.breaker.success() === "closed") {
      log("info", { event: "breaker_closed", agentId: this.s.agentId(), reason: "handover" });
    }
    this.s.sql.run("UPDATE items SET next_attempt_at = 0 WHERE state = 'queued' AND next_attempt_at > 0");
    this.pump(now);
  }

  /**
   * A reconnect, before its `reconnect_ack` (which must show this): the replaced sockets' items go
   * back to the queue; a `lastReceivedId` the relay sent counts as the ack that may have been
   * lost; orphans are requeued. Returns whether the connector must resync (PROTOCOL.md §6).
   */
  resume(retired: readonly string[], lastReceivedId: string | null, now: number): { resync: boolean } {
    const { sql, trace } = this.s;
    for (const connectionId of retired) this.inFlightCount.moved(-requeueConnection(sql, trace, connectionId, now));
    const resync = needsResync(sql, trace, lastReceivedId);
    // The connector says it holds this item: count its word as the ack that may have been lost.
    // Done before the socket gets its role, so no deliver frame can overtake the reconnect_ack.
    if (!resync && lastReceivedId !== null) this.ack([lastReceivedId], now);
    this.requeueOrphans(now);
    return { resync };
  }

  /**
   * After the `reconnect_ack`: an active connector starts receiving. A takeover, like a promoted
   * standby, starts with a closed breaker and everything due now (not the superseded one's backoffs).
   */
  start(role: "active" | "standby", tookOver: boolean, now: number): void {
    if (tookOver) this.handOver(now);
    else if (role === "active") this.pump(now);
  }

  /** A socket closed: its in-flight items go back; a promoted standby takes over delivery. */
  connectionLost(connectionId: string, promoted: boolean, now: number): number {
    const requeued = requeueConnection(this.s.sql, this.s.trace, connectionId, now);
    this.inFlightCount.moved(-requeued);
    if (requeued > 0) this.breaker.clearProbe();
    if (promoted) this.handOver(now);
    return requeued;
  }

  /**
   * In-flight items whose connection no longer exists (the object was reset and its sockets
   * with it) go back to the queue now rather than at their ack deadline.
   */
  requeueOrphans(now: number): number {
    const live = new Set(this.sockets.all().map((socket) => socket.data.connectionId));
    const moved = requeueOrphans(this.s.sql, this.s.trace, live, now);
    this.inFlightCount.recount();
    return moved;
  }

  /** Ack timeouts: redeliver after backoff, or dead-letter after the attempt budget. */
  sweepAckTimeouts(now: number): void {
    const rows = this.s.sql.all<OutcomeRow>(
      `SELECT ${OUTCOME_COLUMNS.sql} FROM items WHERE state = 'inflight' AND ack_deadline <= ? ORDER BY ack_deadline LIMIT ?`,
      now,
      SWEEP_BATCH,
    );
    if (rows.length === 0) return;
    for (const row of rows) {
      this.s.trace.recordOne(row.id, "ack_timeout", now, { attempt: row.attempts });
      if (row.attempts >= this.s.config.RELAY_MAX_ATTEMPTS) {
        this.s.outcomes.terminate(row, "dead_lettered", now, "ack_timeout");
        continue;
      }
      const next = now + redeliveryDelay(row.attempts, row.lane);
      this.s.sql.run(
        "UPDATE items SET state = 'queued', ack_deadline = NULL, connector_id = NULL, next_attempt_at = ? WHERE seq = ?",
        next,
        row.seq,
      );
      this.s.deadlines.made("backoff", next);
      this.inFlightCount.moved(-1);
    }
    this.s.meta.increment("count_ack_timeouts", rows.length);
    this.onFailure(now);
  }

  private onFailure(now: number): void {
    if (this.breaker.failure(now) === "open") {
      log("warn", { event: "breaker_opened", agentId: this.s.agentId(), failures: this.breaker.failures });
    }
  }
}
