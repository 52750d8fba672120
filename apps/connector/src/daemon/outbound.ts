import type { OutboundBody, ReceiptStatus } from "@clawrelay/protocol";
import { monotonicFactory } from "ulid";
import { isBrokenCircuit } from "./breaker.js";
import { fullJitterDelay } from "./clock.js";
import { RelayBreakers } from "./outbound-breakers.js";
import { localReceipt, relayBodyOf, relayOriginOf, replyTarget } from "./outbound-message.js";
import type { OutboundEnqueueResult, OutboundOptions, OutboundStatus } from "./outbound-types.js";
import { Pump } from "./pump.js";
import { type RelaySendResult, sendToRelay } from "./relay-client.js";
import type { OutboundRecord } from "./store-outbox.js";

export type { OutboundConfig, OutboundEnqueueResult, OutboundOptions, OutboundStatus } from "./outbound-types.js";

class RelayUnavailable extends Error {
  constructor(readonly result: Extract<RelaySendResult, { kind: "unavailable" }>) {
    super(result.code);
    this.name = "RelayUnavailable";
  }
}

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
  private readonly breakers: RelayBreakers;
  private readonly pump: Pump<OutboundRecord & { id: string }>;
  private readonly nextId = monotonicFactory();
  private readonly shutdown = new AbortController();
  private lastError: OutboundStatus["lastError"] = null;

  constructor(private readonly options: OutboundOptions) {
    const { config } = options;
    this.breakers = new RelayBreakers({
      config,
      clock: options.clock,
      logger: options.logger,
      metrics: options.metrics,
      isFailure: (error) => error instanceof RelayUnavailable,
      closed: () => this.pump.wake(),
    });
    this.pump = new Pump({
      clock: options.clock,
      concurrency: config.concurrency,
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
          options.store.outbox.release(record, now + config.backoffMaxMs, now);
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
    const result = this.options.store.outbox.enqueue(
      {
        outboundId,
        to,
        toRelay: body.toRelay ?? null,
        body: JSON.stringify(relayBodyOf(body, conversationId)),
        priority: body.priority ?? "normal",
        idempotencyKey: body.idempotencyKey ?? `ob-${outboundId}`,
        correlationId: body.correlationId ?? this.nextId(now),
        expiresAt: now + (body.ttlSeconds ?? this.options.config.defaultTtlSeconds) * 1000,
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
    return { breakers: this.breakers.states(), inFlight: this.pump.inFlight, lastError: this.lastError };
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

  private pick(now: number, limit: number, busy: ReadonlySet<string>): (OutboundRecord & { id: string })[] {
    const { store } = this.options;
    for (const record of store.outbox.expired(now)) {
      if (!busy.has(record.outboundId)) this.failLocally(record, "expired", "expired_in_outbox", record.attempts);
    }
    const picked: (OutboundRecord & { id: string })[] = [];
    for (const record of store.outbox.due(now, limit + busy.size + 32)) {
      if (picked.length >= limit) break;
      if (busy.has(record.outboundId)) continue;
      const breaker = this.breakers.for(this.targetOrigin(record));
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
    const breaker = this.breakers.for(origin);
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
          this.options.config.timeoutMs,
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
        const { backoffBaseMs, backoffMaxMs } = this.options.config;
        const backoff = fullJitterDelay(attempt - 1, backoffBaseMs, backoffMaxMs, this.options.random);
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
    const receipt = localReceipt(record, { receiptId: this.nextId(now), status, reason, attempts, at: now });
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
