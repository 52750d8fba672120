import type { ModelConfig, ModelItem, SendRequest } from "./types.js";

/** How long a 507 asks the sender to wait (a product decision: queues drain at connector speed). */
export const QUEUE_FULL_RETRY_SECONDS = 30;

/** §5 rate limit: a token bucket per sender, `burst` tokens refilled at `ratePerMinute`. */
export class TokenBuckets {
  private readonly buckets = new Map<number, { tokens: number; updatedAt: number }>();

  /** Take a token; returns null, or the Retry-After (whole seconds until the next token) when empty. */
  take(sender: number, ratePerMinute: number, burst: number, now: number): number | null {
    const perMs = ratePerMinute / 60_000;
    const bucket = this.buckets.get(sender);
    const elapsed = bucket ? Math.max(0, now - bucket.updatedAt) : 0;
    const tokens = Math.min(burst, bucket ? bucket.tokens + elapsed * perMs : burst);
    if (tokens < 1) return Math.max(1, Math.ceil((1 - tokens) / perMs / 1000));
    this.buckets.set(sender, { tokens: tokens - 1, updatedAt: now });
    return null;
  }
}

/**
 * §5 capacity: caps on the queue's items and bytes, the low lane refused at 80 % of either, at a
 * full queue the oldest queued (not in-flight) items of the lowest lane below the newcomer's shed
 * first, and one sender at most its share once those are gone. Returns the victims, or null for 507.
 */
export function planCapacity(
  config: ModelConfig,
  live: readonly ModelItem[],
  newcomer: { sender: number; lane: number; bytes: number; senderShare: number },
): ModelItem[] | null {
  const { maxItems, maxBytes, lowAdmitRatio } = config;
  const { sender, lane, bytes, senderShare } = newcomer;
  let items = live.length;
  let used = live.reduce((sum, i) => sum + i.bytes, 0);
  if (bytes > maxBytes) return null;
  if (lane === 2 && (items + 1 > lowAdmitRatio * maxItems || used + bytes > lowAdmitRatio * maxBytes)) return null;
  const fits = () => items + 1 <= maxItems && used + bytes <= maxBytes;
  const victims: ModelItem[] = [];
  for (let victimLane = 2; victimLane > lane && !fits(); victimLane--) {
    for (const candidate of live.filter((i) => i.state === "queued" && i.lane === victimLane)) {
      if (fits()) break;
      victims.push(candidate);
      items -= 1;
      used -= candidate.bytes;
    }
  }
  if (!fits()) return null;
  // v1.1: the sender's share counts what it holds after this send's own evictions.
  const own = live.filter((i) => i.sender === sender && !victims.includes(i));
  const ownBytes = own.reduce((sum, i) => sum + i.bytes, 0);
  if (own.length + 1 > senderShare * maxItems || ownBytes + bytes > senderShare * maxBytes) return null;
  return victims;
}

/** A newly admitted item: queued, never sent, due at once. */
export function queuedItem(
  seq: number,
  request: SendRequest,
  at: { lane: number; bytes: number; now: number; ttlSeconds: number },
): ModelItem {
  return {
    seq,
    id: "",
    sender: request.sender,
    lane: at.lane,
    bytes: at.bytes,
    enqueuedAt: at.now,
    expiresAt: at.now + at.ttlSeconds * 1000,
    state: "queued",
    attempts: 0,
    everSent: false,
    nextAt: 0,
    nextAtLatest: 0,
    ackDeadline: null,
    connection: null,
    finishedAt: null,
    purged: false,
    payload: request.body.payload,
    conversationId: request.body.conversationId,
    inReplyTo: request.body.inReplyTo,
  };
}
