import { ReferenceQueue } from "./reference-queue.js";
import type { Delivery, ExpectedReconnectAck } from "./types.js";

export type * from "./types.js";

/** What the alarm's socket checks did to the active connector, if anything. */
export type SocketSweep = "failed_over" | "closed_stale" | null;

/**
 * A small reference model of one relay session, written from PROTOCOL.md §5–6 alone: the queue
 * and delivery rules of ReferenceQueue, plus the connectors — the reconnect handshake, one
 * standby, and the active connector's silence rules (stale after RELAY_STALE_AFTER_MS; failed
 * over after RELAY_FAILOVER_AFTER_MS while a standby is connected).
 *
 * Sockets ping before every alarm except a "sleepy" active one, which never pings: its last
 * sign of life is when it connected (the test can only make a socket silent from its start).
 */
export class ReferenceSession extends ReferenceQueue {
  /** A connected standby (a number of this model's own), or null. */
  standby: number | null = null;
  /** When the active connector connected, if it is one that never pings. */
  sleepySince: number | null = null;
  private connectionsOpened = 0;

  // ---- time ----

  /**
   * The clock moves on and the one alarm runs: expiry, the socket checks (a promoted standby
   * gets what was in flight at once), ack timeouts, record retention, then delivery.
   */
  advance(ms: number): { deliveries: Delivery[]; sweep: SocketSweep } {
    this.now += ms;
    this.expire();
    const { sweep, deliveries } = this.sweepSockets();
    this.timeOutAcks();
    this.purgeRecords();
    return { deliveries: [...deliveries, ...this.pump()], sweep };
  }

  private sweepSockets(): { sweep: SocketSweep; deliveries: Delivery[] } {
    if (this.connection === null || this.sleepySince === null) return { sweep: null, deliveries: [] };
    const limit = this.standby === null ? this.config.staleMs : Math.min(this.config.staleMs, this.config.failoverMs);
    if (this.now - this.sleepySince < limit) return { sweep: null, deliveries: [] };
    const promoted = this.standby !== null;
    return { sweep: promoted ? "failed_over" : "closed_stale", deliveries: this.disconnect() };
  }

  // ---- connections (§6) ----

  /** The active socket goes away: what it had in flight goes back; a standby is promoted and gets it all. */
  disconnect(): Delivery[] {
    this.dropActive();
    if (this.standby === null) return [];
    this.connection = this.standby;
    this.standby = null;
    this.handOver();
    return this.pump();
  }

  private dropActive(): void {
    for (const item of this.items.filter((i) => i.state === "inflight" && i.connection === this.connection))
      this.requeue(item, 0);
    this.connection = null;
    this.sleepySince = null;
  }

  /** Another connector joins while one is active: a standby, which gets no items. */
  connectStandby(): ExpectedReconnectAck {
    if (this.connection === null || this.standby !== null)
      throw new Error("model: a standby needs an active and no standby");
    this.standby = ++this.connectionsOpened;
    return this.reconnectAck(null, false);
  }

  /**
   * A `reconnect` frame on a new socket that becomes active. A socket already active is replaced
   * (same connector, or a takeover): its in-flight items go back to the queue; a standby stays
   * one. `lastReceivedId` known and sent counts as the ack that may have been lost; unknown or
   * never sent means `resync`, and nothing is deleted. A takeover of an open socket hands over
   * like a promotion: breaker closed, everything due now.
   */
  connect(
    lastReceivedId: string | null,
    offlineSinceMs: number | null,
    takeover = false,
    sleepy = false,
  ): {
    ack: ExpectedReconnectAck;
    deliveries: Delivery[];
  } {
    const handOver = takeover && this.connection !== null;
    if (this.connection !== null) this.dropActive();
    const known = lastReceivedId === null ? undefined : this.find(lastReceivedId);
    const resync = lastReceivedId !== null && (known === undefined || !known.everSent);
    if (!resync && lastReceivedId !== null) this.ack([lastReceivedId]);
    this.connection = ++this.connectionsOpened;
    this.sleepySince = sleepy ? this.now : null;
    const ack = this.reconnectAck(offlineSinceMs, resync);
    if (handOver) this.handOver();
    return { ack, deliveries: this.pump() };
  }

  private reconnectAck(offlineSinceMs: number | null, resync: boolean): ExpectedReconnectAck {
    const live = this.live();
    const lanes = { critical: 0, normal: 0, low: 0 };
    for (const item of live) {
      if (item.lane === 0) lanes.critical++;
      else if (item.lane === 1) lanes.normal++;
      else lanes.low++;
    }
    const expired =
      offlineSinceMs === null
        ? []
        : this.items.filter(
            (i) => !i.purged && i.state === "expired" && i.finishedAt !== null && i.finishedAt >= offlineSinceMs,
          );
    return {
      lanes,
      queuedCount: live.length,
      expired,
      oldestQueuedAt: live[0]?.enqueuedAt ?? null,
      lastAckedId: this.lastAckedId,
      resync,
    };
  }

  connections(): number {
    return (this.connection === null ? 0 : 1) + (this.standby === null ? 0 : 1);
  }
}
