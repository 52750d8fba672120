import type { ProcessedFrame } from "@clawrelay/protocol";
import type { Logger } from "pino";
import { Breaker, type BreakerState, isBrokenCircuit } from "./breaker.js";
import { chaosPoint } from "./chaos-point.js";
import { type Clock, fullJitterDelay, type Random } from "./clock.js";
import { type FetchLike, type HookFormat, type HookResult, postHook } from "./hook-client.js";
import type { HookFormatName } from "./hook-formats/types.js";
import type { ConnectorMetrics } from "./metrics.js";
import { Pump } from "./pump.js";
import type { Store } from "./store.js";
import type { InboxEntry } from "./store-inbox.js";

export interface InboundOptions {
  store: Store;
  clock: Clock;
  random: Random;
  fetch: FetchLike;
  logger: Logger;
  format: HookFormat;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  breakerFailures: number;
  breakerOpenMs: number;
  concurrency: number;
  /** Send a `processed` frame on the live link; false when there is none (it stays queued). */
  sendReport: (frame: ProcessedFrame) => boolean;
  metrics?: ConnectorMetrics;
}

export interface HookHold {
  reason: string;
  status: number;
  since: number;
}

export interface InboundStatus {
  format: HookFormatName;
  breaker: BreakerState;
  inFlight: number;
  lastError: { reason: string; at: number } | null;
  /** Set when the hook refused our credentials: no call is made until a restart with a fixed config. */
  held: HookHold | null;
}

/** Carries a retryable hook answer through the breaker so it counts as a failure there. */
class RetryableHookFailure extends Error {
  constructor(readonly result: Extract<HookResult, { kind: "retry" }>) {
    super(result.reason);
    this.name = "RetryableHookFailure";
  }
}

const REPORT_BATCH = 256;
const REPORT_FLUSH_MS = 10;

/**
 * Delivers inbox items to the agent's hooks, one durable step at a time. It runs beside
 * the socket handler and never blocks it: items keep arriving in the inbox while the
 * hook is slow, failing, or behind an open breaker.
 */
export class InboundWorker {
  private readonly breaker: Breaker;
  private readonly pump: Pump<InboxEntry>;
  private readonly shutdown = new AbortController();
  private lastError: InboundStatus["lastError"] = null;
  private held: HookHold | null = null;
  private reportFlushScheduled = false;

  constructor(private readonly options: InboundOptions) {
    this.breaker = new Breaker(
      "hook",
      {
        failures: options.breakerFailures,
        openMs: options.breakerOpenMs,
        isFailure: (error) => error instanceof RetryableHookFailure,
      },
      (state) => {
        options.logger.warn({ event: `hook_breaker_${state}` }, `hook breaker is ${state}`);
        options.metrics?.breakerChanged("hook", state, options.clock.now());
        // A closed breaker means queued items can flow again right away.
        if (state === "closed") queueMicrotask(() => this.wake());
      },
    );
    this.pump = new Pump<InboxEntry>({
      clock: options.clock,
      concurrency: options.concurrency,
      pick: (now, limit, busy) => (this.held || this.breaker.isShut() ? [] : options.store.inbox.due(now, limit, busy)),
      nextWakeDelay: (now) => {
        // Held: nothing is due until a restart.
        if (this.held) return null;
        const dueAt = options.store.inbox.nextDueAt();
        if (dueAt === null) return null;
        return Math.max(dueAt - now, this.breaker.remainingOpenMs());
      },
      run: (entry) => this.deliver(entry),
      onError: (error, entry) => {
        options.logger.error(
          { event: "hook_worker_error", messageId: entry.messageId, error: (error as Error).message },
          "inbound worker step failed",
        );
        // Keep the item, but not in a tight loop: try it again after the longest backoff.
        if (options.store.isOpen) options.store.inbox.defer(entry.id, options.clock.now() + options.backoffMaxMs);
      },
    });
  }

  wake(): void {
    this.pump.wake();
  }

  /** Inbox items whose webhook call is under way. */
  hookCallsInFlight(): string[] {
    return this.pump.runningIds;
  }

  status(): InboundStatus {
    return {
      format: this.options.format.name,
      breaker: this.breaker.state(),
      inFlight: this.pump.inFlight,
      lastError: this.lastError,
      held: this.held,
    };
  }

  /**
   * Send queued `processed` frames while the link takes them; the sent ones are forgotten in one
   * unsynced commit (a report sent twice after a power cut is harmless: the relay keeps the
   * first terminal outcome).
   */
  flushReports(): void {
    const { store, sendReport } = this.options;
    if (!store.isOpen) return;
    const sent: string[] = [];
    for (const report of store.inbox.pendingReports(REPORT_BATCH)) {
      const frame: ProcessedFrame = {
        type: "processed",
        id: report.id,
        outcome: report.outcome,
        ...(report.reason !== null ? { reason: report.reason } : {}),
      };
      if (!sendReport(frame)) break;
      sent.push(report.id);
    }
    if (sent.length === 0) return;
    store.lazily(() =>
      store.batch(() => {
        for (const id of sent) store.inbox.reportSent(id);
      }),
    );
  }

  /**
   * Reports go out at most every REPORT_FLUSH_MS, so a run of deliveries shares one query and one
   * commit instead of paying them per item; `processed` is not on any latency path.
   */
  private scheduleReportFlush(): void {
    if (this.reportFlushScheduled) return;
    this.reportFlushScheduled = true;
    this.options.clock.setTimeout(() => {
      this.reportFlushScheduled = false;
      this.flushReports();
    }, REPORT_FLUSH_MS);
  }

  /** Start nothing new; give calls in flight `graceMs` to finish, then abort them (the items stay pending). */
  async stop(graceMs: number): Promise<void> {
    const drained = this.pump.stop();
    const timer = setTimeout(() => this.shutdown.abort(), graceMs);
    await drained;
    clearTimeout(timer);
  }

  private async deliver(entry: InboxEntry): Promise<void> {
    const { store, clock, logger } = this.options;
    const attempt = entry.attempts + 1;
    const context = { correlationId: entry.correlationId, messageId: entry.messageId, kind: entry.kind, attempt };
    if (!entry.item) {
      store.lazily(() => store.inbox.deadLetter(entry, attempt, "stored item is unreadable", "failed", clock.now()));
      logger.error({ event: "hook_dead_lettered", ...context, reason: "unreadable" }, "unreadable inbox item");
      this.scheduleReportFlush();
      return;
    }
    chaosPoint("after_ack", [entry], () => this.pump.runningIds);
    const { format } = this.options;
    const request = format.request(entry.item);
    if (request === null) {
      // The format does not post this item (an OpenClaw receipt the agent is not told about): done here.
      store.lazily(() => store.inbox.markDelivered(entry, entry.attempts, clock.now()));
      logger.debug({ event: "hook_not_posted", ...context, format: format.name }, "item settled without a hook call");
      return;
    }
    let result: HookResult;
    const startedAt = clock.now();
    try {
      result = await this.breaker.execute(async () => {
        const answer = await postHook(
          this.options.fetch,
          request,
          format.timeoutMs,
          () => clock.now(),
          this.shutdown.signal,
          format,
        );
        if (answer.kind === "retry") throw new RetryableHookFailure(answer);
        return answer;
      });
    } catch (error) {
      if (isBrokenCircuit(error)) {
        store.inbox.defer(entry.id, clock.now() + Math.max(this.breaker.remainingOpenMs(), 1));
        return;
      }
      if (!(error instanceof RetryableHookFailure)) throw error;
      result = error.result;
    }
    // Aborted by shutdown: the outcome is unknown, so nothing is recorded and the item is tried again later.
    if (!store.isOpen || this.shutdown.signal.aborted) return;
    const now = clock.now();
    this.options.metrics?.observeHook(entry.kind, result.kind, now - startedAt);
    if (result.kind !== "delivered") this.lastError = { reason: result.reason, at: now };
    switch (result.kind) {
      case "delivered":
        // Unsynced: losing this in a power cut only calls the hook again (at least once).
        store.lazily(() => store.inbox.markDelivered(entry, attempt, now));
        logger.info({ event: "hook_delivered", ...context, status: result.status }, "delivered to the agent");
        break;
      case "held":
        // No item is at fault and no retry can mend a refused token: nothing is charged or failed,
        // the item stays where it is, and no further call is made until a restart.
        if (!this.held) {
          this.held = { reason: result.reason, status: result.status, since: now };
          logger.error(
            { event: "hook_auth_refused", ...context, status: result.status, format: format.name },
            "the hook refused the connector's token; hook delivery is held until the connector is restarted with a fixed config",
          );
        }
        return;
      case "rejected":
        store.lazily(() => store.inbox.deadLetter(entry, attempt, result.reason, "failed", now));
        logger.warn({ event: "hook_rejected", ...context, status: result.status }, "the agent hook refused the item");
        break;
      case "retry":
        if (result.unexpected) {
          logger.warn(
            { event: "hook_unexpected_answer", ...context, status: result.status, reason: result.reason },
            "the hook answered in a way its format does not document; retrying",
          );
        }
        if (attempt >= this.options.maxAttempts) {
          store.lazily(() =>
            store.inbox.deadLetter(entry, attempt, `retries exhausted: ${result.reason}`, "dead_lettered", now),
          );
          logger.warn({ event: "hook_dead_lettered", ...context, reason: result.reason }, "hook retries exhausted");
        } else {
          const backoff = fullJitterDelay(
            attempt - 1,
            this.options.backoffBaseMs,
            this.options.backoffMaxMs,
            this.options.random,
          );
          // A hook's Retry-After is honoured up to an hour, so a typo there cannot park an item for days.
          const delay = result.retryAfterMs !== undefined ? Math.min(result.retryAfterMs, 3_600_000) : backoff;
          store.lazily(() => store.inbox.reschedule(entry, attempt, now + delay, result.reason, now));
          logger.warn(
            { event: "hook_retry", ...context, reason: result.reason, delayMs: delay },
            "hook will be retried",
          );
        }
        break;
    }
    this.scheduleReportFlush();
  }
}
