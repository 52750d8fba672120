import { PRIORITY_RANK, PROTOCOL_LIMITS } from "@clawrelay/protocol";
import { planCapacity, QUEUE_FULL_RETRY_SECONDS, queuedItem, TokenBuckets } from "./admission.js";
import { ModelBreaker } from "./breaker.js";
import type {
  Delivery,
  FailureStatus,
  ItemState,
  ModelConfig,
  ModelItem,
  PeerRule,
  SendOutcome,
  SendRequest,
} from "./types.js";

/**
 * The queue half of the reference model (reference.ts adds the connections): lanes, TTLs,
 * capacity and shedding, the per-sender token bucket, idempotency, at-least-once delivery with
 * acks, nacks, ack timeouts and the delivery breaker. Plain arrays and linear scans: it is meant
 * to be obviously right, not fast.
 *
 * Where PROTOCOL.md leaves a detail open, the model follows the documented decision of the
 * product and says so next to it ("decision:").
 */

export const LIVE: readonly ItemState[] = ["queued", "inflight"];

export class ReferenceQueue {
  readonly items: ModelItem[] = [];
  readonly receipts: { item: ModelItem; status: FailureStatus }[] = [];
  readonly counters = { received: 0, sent: 0, acked: 0, nacked: 0, ack_timeouts: 0, expired: 0, shed: 0 };
  readonly breaker = new ModelBreaker();
  lastAckedId: string | null = null;
  /** The active connection (a number of this model's own), or null when offline. */
  connection: number | null = null;
  private readonly buckets = new TokenBuckets();
  private readonly idempotency = new Map<string, { bodyText: string; item: ModelItem; expiresAt: number }>();

  constructor(
    readonly config: ModelConfig,
    readonly policy: Record<number, PeerRule>,
    public now: number,
  ) {}

  live(): ModelItem[] {
    return this.items.filter((i) => LIVE.includes(i.state));
  }
  inFlight(): number {
    return this.items.filter((i) => i.state === "inflight").length;
  }
  find(id: string): ModelItem | undefined {
    return this.items.find((i) => i.id === id && !i.purged);
  }

  breakerState(): "closed" | "open" | "half_open" {
    return this.breaker.state(this.now);
  }

  // ---- sends (§5: policy → idempotency → rate limit → capacity) ----

  send(request: SendRequest): { outcome: SendOutcome; deliveries: Delivery[] } {
    const rule = { ...this.defaultsRule(), ...this.policy[request.sender] };
    if (rule.allow === false) return { outcome: { kind: "refused", code: "sender_blocked" }, deliveries: [] };
    const bodyText = JSON.stringify(request.body);
    const idemKey = `${request.sender}\u0000${request.key}`;
    if (request.key !== null) {
      const seen = this.idempotency.get(idemKey);
      if (seen && seen.expiresAt > this.now) {
        if (seen.bodyText !== bodyText)
          return { outcome: { kind: "refused", code: "idempotency_key_reused" }, deliveries: [] };
        return { outcome: { kind: "duplicate", of: seen.item }, deliveries: [] };
      }
    }
    const limited = this.buckets.take(request.sender, rule.ratePerMinute, rule.burst, this.now);
    if (limited !== null)
      return { outcome: { kind: "refused", code: "rate_limited", retryAfterSeconds: limited }, deliveries: [] };

    const lane = PRIORITY_RANK[request.body.priority ?? "normal"];
    const bytes = new TextEncoder().encode(JSON.stringify(request.body.payload)).byteLength;
    const victims = planCapacity(this.config, this.live(), {
      sender: request.sender,
      lane,
      bytes,
      senderShare: rule.senderShare,
    });
    if (victims === null)
      return {
        outcome: { kind: "refused", code: "queue_full", retryAfterSeconds: QUEUE_FULL_RETRY_SECONDS },
        deliveries: [],
      };
    for (const victim of victims) {
      this.terminate(victim, "shed");
      this.counters.shed++;
    }
    let ttlSeconds = request.body.ttlSeconds ?? rule.ttlSeconds ?? this.config.defaultTtlSeconds;
    if (rule.ttlSeconds !== undefined) ttlSeconds = Math.min(ttlSeconds, rule.ttlSeconds);
    ttlSeconds = Math.min(ttlSeconds, PROTOCOL_LIMITS.maxTtlSeconds);
    const item = queuedItem(this.items.length, request, { lane, bytes, now: this.now, ttlSeconds });
    this.items.push(item);
    this.counters.received++;
    if (request.key !== null)
      this.idempotency.set(idemKey, { bodyText, item, expiresAt: this.now + this.config.idempotencyMs });
    const queueDepth = this.live().length;
    return { outcome: { kind: "queued", item, queueDepth, shed: victims }, deliveries: this.pump() };
  }

  private defaultsRule() {
    return {
      allow: true as boolean | undefined,
      ratePerMinute: this.config.ratePerMinute,
      burst: this.config.burst,
      senderShare: this.config.senderShare,
      ttlSeconds: undefined as number | undefined,
    };
  }

  // ---- delivery ----

  /** Send what the window, the breaker and the active connection allow: lane first, then arrival. */
  pump(): Delivery[] {
    const out: Delivery[] = [];
    if (this.connection === null) return out;
    for (;;) {
      const state = this.breakerState();
      if (state === "open") return out;
      // decision: a half-open probe is outstanding while something it could be answered by is in flight.
      if (state === "half_open" && this.breaker.probe && this.inFlight() > 0) return out;
      const room = this.config.maxInFlight - this.inFlight();
      if (room <= 0) return out;
      const ready = this.items
        .filter((i) => i.state === "queued" && this.due(i))
        .sort((a, b) => a.lane - b.lane || a.seq - b.seq)
        .slice(0, Math.min(PROTOCOL_LIMITS.maxItemsPerDeliverFrame, room));
      if (ready.length === 0) return out;
      for (const item of ready) {
        item.state = "inflight";
        item.attempts += 1;
        item.everSent = true;
        item.ackDeadline = this.now + this.config.ackTimeoutMs;
        item.connection = this.connection;
        item.nextAt = 0;
        item.nextAtLatest = 0;
        out.push({ item, attempt: item.attempts });
      }
      this.counters.sent += ready.length;
      if (state === "half_open") {
        this.breaker.probe = true;
        return out;
      }
    }
  }

  private due(item: ModelItem): boolean {
    if (item.nextAtLatest <= this.now) return true;
    if (item.nextAt > this.now) return false;
    throw new Error(`model: item ${item.seq} is inside its redelivery jitter window; the driver must not stop here`);
  }

  ack(ids: readonly string[]): Delivery[] {
    let acked = 0;
    for (const id of ids) {
      const item = this.find(id);
      // §6: an ack means "durably stored by the connector": it counts for any live item that was sent.
      if (!item || !LIVE.includes(item.state) || !item.everSent) continue;
      this.finish(item, "acked");
      this.lastAckedId = item.id;
      acked++;
    }
    if (acked === 0) return [];
    this.counters.acked += acked;
    this.breaker.close();
    return this.pump();
  }

  nack(ids: readonly string[], retryAfterMs: number | undefined): Delivery[] {
    const next = retryAfterMs ? this.now + retryAfterMs : 0;
    let count = 0;
    for (const id of ids) {
      const item = this.find(id);
      if (item?.state !== "inflight") continue;
      this.requeue(item, next);
      count++;
    }
    if (count === 0) return [];
    this.counters.nacked += count;
    this.breaker.fail(this.now);
    return this.pump();
  }

  /** Back in the queue without counting the send (a nack, or the socket went away). */
  protected requeue(item: ModelItem, next: number): void {
    item.state = "queued";
    item.attempts = Math.max(0, item.attempts - 1);
    item.nextAt = next;
    item.nextAtLatest = next;
    item.ackDeadline = null;
    item.connection = null;
  }

  // ---- time ----

  /**
   * Redelivery after an ack timeout waits 1 s doubling to 60 s with ±20 % jitter, so its moment is
   * only known within a window. Stretch a clock advance past any window it would stop inside.
   */
  settleAdvance(ms: number): number {
    let target = this.now + ms;
    for (let moved = true; moved; ) {
      moved = false;
      for (const item of this.items) {
        if (item.state === "queued" && item.nextAt <= target && target < item.nextAtLatest) {
          target = item.nextAtLatest;
          moved = true;
        }
      }
    }
    return target - this.now;
  }

  /** Expiry by each item's own deadline, wherever it stands (the alarm's first step). */
  protected expire(): void {
    for (const item of this.live().filter((i) => i.expiresAt <= this.now)) {
      this.terminate(item, "expired");
      this.counters.expired++;
    }
  }

  /** Ack timeouts: redelivery after a jittered backoff, or dead-lettered after the attempt budget. */
  protected timeOutAcks(): void {
    const timedOut = this.items
      .filter((i) => i.state === "inflight" && (i.ackDeadline ?? Infinity) <= this.now)
      .sort((a, b) => (a.ackDeadline ?? 0) - (b.ackDeadline ?? 0));
    for (const item of timedOut) {
      if (item.attempts >= this.config.maxAttempts) {
        this.terminate(item, "dead_lettered");
        continue;
      }
      const base = Math.min(
        PROTOCOL_LIMITS.redeliveryBackoffMaxMs,
        PROTOCOL_LIMITS.redeliveryBackoffBaseMs * 2 ** Math.max(0, item.attempts - 1),
      );
      const spread = item.lane === 0 ? 0 : PROTOCOL_LIMITS.redeliveryJitter;
      item.state = "queued";
      item.ackDeadline = null;
      item.connection = null;
      item.nextAt = item.lane === 0 ? this.now : this.now + Math.floor(base * (1 - spread));
      item.nextAtLatest = item.lane === 0 ? this.now : this.now + Math.ceil(base * (1 + spread));
    }
    if (timedOut.length > 0) {
      this.counters.ack_timeouts += timedOut.length;
      this.breaker.fail(this.now);
    }
  }

  /**
   * A new active connector replaces one that was not answering (a promotion or a takeover): it
   * starts with a closed breaker and everything due now, not behind the old one's backoffs.
   */
  protected handOver(): void {
    this.breaker.close();
    for (const item of this.items.filter((i) => i.state === "queued")) {
      item.nextAt = 0;
      item.nextAtLatest = 0;
    }
  }

  protected purgeRecords(): void {
    for (const item of this.items) {
      if (item.finishedAt !== null && item.finishedAt <= this.now - this.config.retentionMs) item.purged = true;
    }
  }

  // ---- endings ----

  protected finish(item: ModelItem, state: ItemState): void {
    item.state = state;
    item.finishedAt = this.now;
    item.ackDeadline = null;
    item.connection = null;
  }

  /** A failure ending: one receipt to the sender, always (§7). */
  protected terminate(item: ModelItem, status: FailureStatus): void {
    this.finish(item, status);
    this.receipts.push({ item, status });
  }
}
