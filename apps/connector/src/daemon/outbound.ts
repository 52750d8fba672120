import type { OutboundBody, Receipt, ReceiptStatus } from "@clawrelay/protocol";
import type { Logger } from "pino";
import { monotonicFactory } from "ulid";
import { Breaker, type BreakerState, isBrokenCircuit } from "./breaker.js";
import { type Clock, fullJitterDelay, type Random } from "./clock.js";
import type { FetchLike } from "./hook-client.js";
import type { ConnectorMetrics } from "./metrics.js";
import { Pump } from "./pump.js";
import { type RelaySendResult, sendToRelay } from "./relay-client.js";
import type { Signer } from "./signer.js";
import type { Store } from "./store.js";
import type { EnqueueResult, OutboundRecord } from "./store-outbox.js";

export interface OutboundOptions {
  store: Store;
  clock: Clock;
  random: Random;
  fetch: FetchLike;
  signer: Signer;
  logger: Logger;
  agentId: string;
  /** Where messages without `toRelay` go: the relay of the live session, else the first configured one. */
  homeRelayUrl: () => string;
  /**
   * Whether a `toRelay` origin may be sent to: a signed request carries the identity token, so it
   * goes only to the configured relays and `trustedRelays`, never to any origin a caller names.
   */
  isTrustedRelay: (origin: string) => boolean;
  defaultTtlSeconds: number;
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  breakerFailures: number;
  breakerOpenMs: number;
  concurrency: number;
  /** A local receipt was queued for the agent's receipt hook. */
  onLocalReceipt: () => void;
  metrics?: ConnectorMetrics;
}

/**
 * `enqueue`'s answer: the outbox's, or no recipient (no `to`, and `inReplyTo` names no received
 * message), or a `toRelay` this connector does not trust.
 */
export type OutboundEnqueueResult = EnqueueResult | { ok: false; reason: "no_recipient" | "untrusted_relay" };

/** A relay URL as an origin (`https://relay.example.com`), or null when it is not one. */
export function relayOriginOf(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
}

/** Where a message goes and in which conversation, after the reply rules of PROTOCOL.md §8. */
export type ReplyTarget =
  | { ok: true; to: string; conversationId: string | undefined }
  | { ok: false; reason: "no_recipient" };

/**
 * With an `inReplyTo` naming a message this connector received, `to` defaults to that message's
 * sender and `conversationId` to its conversation, or to its own id when it had none. Anything
 * the agent gave explicitly wins.
 */
export function replyTarget(body: OutboundBody, store: Store): ReplyTarget {
  const answered = body.inReplyTo !== undefined ? store.inbox.received.find(body.inReplyTo) : undefined;
  const to = body.to ?? answered?.from;
  if (to === undefined) return { ok: false, reason: "no_recipient" };
  const conversationId =
    body.conversationId ?? (answered ? (answered.conversationId ?? answered.messageId) : undefined);
  return { ok: true, to, conversationId };
}

export interface OutboundStatus {
  breakers: Record<string, BreakerState>;
  inFlight: number;
  lastError: { code: string; at: number } | null;
}

class RelayUnavailable extends Error {
  constructor(readonly result: Extract<RelaySendResult, { kind: "unavailable" }>) {
    super(result.code);
    this.name = "RelayUnavailable";
  }
}

/** At most this many relay origins get their own breaker; more are almost surely a misuse of `toRelay`. */
const MAX_BREAKERS = 256;
/** The relay's Retry-After is honoured up to a day. */
const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * The outbox drain: durable first, then signed POSTs with an idempotency key fixed per
 * message, in priority order (critical, normal, low, then age), behind a breaker per relay.
 * Messages to one recipient in one lane form a stream with at most one POST in flight, so the
 * relay queues them in the order the agent sent them (PROTOCOL.md §5: first in, first out within
 * a lane); `concurrency` spreads over different streams.
 */
export class OutboundWorker {
  private readonly breakers = new Map<string, Breaker>();
  private readonly pump: Pump<OutboundRecord & { id: string }>;
  private readonly nextId = monotonicFactory();
  private readonly shutdown = new AbortController();
  private lastError: OutboundStatus["lastError"] = null;

  constructor(private readonly options: OutboundOptions) {
    this.pump = new Pump({
      clock: options.clock,
      concurrency: options.concurrency,
      pick: (now, limit, busy) => this.pick(now, limit, busy),
      nextWakeDelay: (now) => {
        const dueAt = options.store.outbox.nextDueAt();
        return dueAt === null ? null : dueAt - now;
      },
      run: (record) => this.send(record),
      onError: (error, record) => {
        options.logger.error(
          { event: "outbound_worker_error", correlationId: record.correlationId, error: (error as Error).message },
          "outbound worker step failed",
        );
        // Never leave a message stuck in `sending`: put it back for a later attempt.
        if (options.store.isOpen) {
          const now = options.clock.now();
          options.store.outbox.release(record, now + options.backoffMaxMs, now);
        }
      },
    });
  }

  /** Commit the message to the outbox (nothing is sent before this returns) and wake the drain. */
  enqueue(body: OutboundBody, context: { sessionKey?: string } = {}): OutboundEnqueueResult {
    if (body.toRelay !== undefined && !this.trusts(body.toRelay)) return { ok: false, reason: "untrusted_relay" };
    const target = replyTarget(body, this.options.store);
    if (!target.ok) return target;
    const { to, conversationId } = target;
    const now = this.options.clock.now();
    const outboundId = this.nextId(now);
    const relayBody = {
      payload: body.payload,
      ...(body.priority !== undefined ? { priority: body.priority } : {}),
      ...(body.ttlSeconds !== undefined ? { ttlSeconds: body.ttlSeconds } : {}),
      ...(body.notify !== undefined ? { notify: body.notify } : {}),
      ...(body.contentType !== undefined ? { contentType: body.contentType } : {}),
      ...(conversationId !== undefined ? { conversationId } : {}),
      ...(body.inReplyTo !== undefined ? { inReplyTo: body.inReplyTo } : {}),
    };
    const result = this.options.store.outbox.enqueue(
      {
        outboundId,
        to,
        toRelay: body.toRelay ?? null,
        body: JSON.stringify(relayBody),
        priority: body.priority ?? "normal",
        idempotencyKey: body.idempotencyKey ?? `ob-${outboundId}`,
        correlationId: body.correlationId ?? this.nextId(now),
        expiresAt: now + (body.ttlSeconds ?? this.options.defaultTtlSeconds) * 1000,
        conversationId: conversationId ?? null,
        inReplyTo: body.inReplyTo ?? null,
        sessionKey: context.sessionKey ?? null,
      },
      now,
    );
    if (result.ok && !result.duplicate) {
      this.options.logger.info(
        {
          event: "outbound_queued",
          correlationId: result.record.correlationId,
          outboundId: result.record.outboundId,
          to,
          ...(conversationId !== undefined ? { conversationId } : {}),
        },
        "outbound message queued",
      );
      this.pump.wake();
    }
    return result;
  }

  wake(): void {
    this.pump.wake();
  }

  status(): OutboundStatus {
    const breakers: Record<string, BreakerState> = {};
    for (const [origin, breaker] of this.breakers) breakers[origin] = breaker.state();
    return { breakers, inFlight: this.pump.inFlight, lastError: this.lastError };
  }

  /** Start nothing new; give sends in flight `graceMs` to finish, then abort them (they go back to queued). */
  async stop(graceMs: number): Promise<void> {
    const drained = this.pump.stop();
    const timer = setTimeout(() => this.shutdown.abort(), graceMs);
    await drained;
    clearTimeout(timer);
  }

  private trusts(relay: string): boolean {
    const origin = relayOriginOf(relay);
    return origin !== null && this.options.isTrustedRelay(origin);
  }

  private targetOrigin(record: OutboundRecord): string {
    return (record.toRelay ?? this.options.homeRelayUrl()).replace(/\/+$/, "");
  }

  private breakerFor(origin: string): Breaker {
    let breaker = this.breakers.get(origin);
    if (!breaker) {
      if (this.breakers.size >= MAX_BREAKERS) {
        const oldest = this.breakers.keys().next().value;
        if (oldest !== undefined) this.breakers.delete(oldest);
      }
      breaker = new Breaker(
        origin,
        {
          failures: this.options.breakerFailures,
          openMs: this.options.breakerOpenMs,
          isFailure: (error) => error instanceof RelayUnavailable,
        },
        (state) => {
          this.options.logger.warn({ event: `outbound_breaker_${state}`, relayUrl: origin }, `relay breaker ${state}`);
          this.options.metrics?.breakerChanged(`relay ${origin}`, state, this.options.clock.now());
          if (state === "closed") queueMicrotask(() => this.pump.wake());
        },
      );
      this.breakers.set(origin, breaker);
    }
    return breaker;
  }

  private pick(now: number, limit: number, busy: ReadonlySet<string>): (OutboundRecord & { id: string })[] {
    const { store } = this.options;
    for (const record of store.outbox.expired(now)) {
      if (!busy.has(record.outboundId)) this.failLocally(record, "expired", "expired_in_outbox", record.attempts);
    }
    const picked: (OutboundRecord & { id: string })[] = [];
    for (const record of store.outbox.due(now, limit + busy.size + 32)) {
      if (picked.length >= limit) break;
      if (busy.has(record.outboundId)) continue;
      const breaker = this.breakerFor(this.targetOrigin(record));
      if (breaker.isShut()) {
        const wait = breaker.remainingOpenMs();
        // Park it until the breaker would let a probe through; a half-open probe wakes us when it ends.
        if (wait > 0) store.outbox.release(record, now + wait, now);
        continue;
      }
      store.outbox.markSending(record.outboundId, now);
      picked.push({ ...record, id: record.outboundId });
    }
    return picked;
  }

  private async send(record: OutboundRecord): Promise<void> {
    const { store, clock, logger } = this.options;
    if (record.toRelay !== null && !this.trusts(record.toRelay)) {
      // Stored before the relay left the config (or before this check existed): never signed, never sent.
      this.failLocally(
        record,
        "failed",
        "untrusted_relay: toRelay is not one of this connector's relays",
        record.attempts,
      );
      logger.warn(
        {
          event: "outbound_failed",
          correlationId: record.correlationId,
          outboundId: record.outboundId,
          code: "untrusted_relay",
        },
        "toRelay is not a trusted relay",
      );
      return;
    }
    const origin = this.targetOrigin(record);
    const breaker = this.breakerFor(origin);
    const attempt = record.attempts + 1;
    const context = { correlationId: record.correlationId, outboundId: record.outboundId, to: record.to, attempt };
    let result: RelaySendResult;
    try {
      result = await breaker.execute(async () => {
        const answer = await sendToRelay(
          this.options.fetch,
          this.options.signer,
          {
            url: `${origin}/v1/agents/${encodeURIComponent(record.to)}/messages`,
            body: record.body,
            correlationId: record.correlationId,
            idempotencyKey: record.idempotencyKey,
          },
          this.options.timeoutMs,
          () => clock.now(),
          this.shutdown.signal,
        );
        if (answer.kind === "unavailable") throw new RelayUnavailable(answer);
        return answer;
      });
    } catch (error) {
      if (isBrokenCircuit(error)) {
        store.outbox.release(record, clock.now() + Math.max(breaker.remainingOpenMs(), 1), clock.now());
        return;
      }
      if (!(error instanceof RelayUnavailable)) throw error;
      result = error.result;
    }
    if (!store.isOpen) return;
    const now = clock.now();
    if (this.shutdown.signal.aborted) {
      // Whether the relay got it is unknown; the fixed idempotency key makes the next attempt safe.
      store.outbox.release(record, now, now);
      return;
    }
    if (result.kind !== "accepted") this.lastError = { code: result.code, at: now };
    switch (result.kind) {
      case "accepted":
        store.outbox.markSent(record, result.messageId, attempt, now);
        logger.info(
          { event: "outbound_sent", ...context, messageId: result.messageId, duplicate: result.duplicate },
          "relay accepted the message",
        );
        return;
      case "wait":
      case "unavailable": {
        const backoff = fullJitterDelay(
          attempt - 1,
          this.options.backoffBaseMs,
          this.options.backoffMaxMs,
          this.options.random,
        );
        const delay = result.retryAfterMs !== undefined ? Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS) : backoff;
        store.outbox.reschedule(record, attempt, now + delay, `${result.code} (${result.status ?? "network"})`, now);
        logger.warn({ event: "outbound_retry", ...context, code: result.code, delayMs: delay }, "will retry send");
        return;
      }
      case "rejected":
        this.failLocally(record, "failed", `${result.code}: ${result.message}`.slice(0, 500), attempt);
        logger.warn({ event: "outbound_failed", ...context, code: result.code, status: result.status }, "send refused");
    }
  }

  private failLocally(record: OutboundRecord, status: ReceiptStatus, reason: string, attempts: number): void {
    const now = this.options.clock.now();
    const receipt: Receipt = {
      receiptId: this.nextId(now),
      // Never accepted by a relay, so there is no relay message id: the outbound id stands in.
      messageId: record.outboundId,
      correlationId: record.correlationId,
      status,
      reason,
      recipient: record.to,
      at: now,
      attempts,
      enqueuedAt: record.createdAt,
      ...(record.conversationId !== null ? { conversationId: record.conversationId } : {}),
    };
    this.options.store.outbox.fail(record, attempts, receipt, now);
    if (status === "expired") {
      this.options.logger.warn(
        { event: "outbound_expired", correlationId: record.correlationId, outboundId: record.outboundId },
        "outbound message expired before the relay accepted it",
      );
    }
    this.options.onLocalReceipt();
  }
}
