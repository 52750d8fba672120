import { Breaker } from "./breaker.js";
import { EXPIRED_IN_INBOX, HookRetryBudget, type Verdict } from "./hook-budget.js";
import { postHook } from "./hook-client.js";
import { callThroughBreaker, RetryableHookFailure } from "./inbound-call.js";
import { ReportFlusher } from "./inbound-reports.js";
import type { HookHold, InboundOptions, InboundStatus } from "./inbound-types.js";
import { Pump } from "./pump.js";
import type { InboxEntry, InboxOutcome } from "./store-inbox.js";

export type { HookDeliveryConfig, HookHold, InboundOptions, InboundStatus } from "./inbound-types.js";

/** Lane items looked at per pass while no call may start. */
const TEND_BATCH = 64;
/** The worker looks at its lanes at least this often, whatever waits (a timer's delay is bounded). */
const MAX_SLEEP_MS = 3_600_000;
/** "Until a restart", as a retry time. */
const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Delivers inbox items to the agent's hooks, one durable step at a time. It runs beside
 * the socket handler and never blocks it: items keep arriving in the inbox while the
 * hook is slow, failing, or behind an open breaker. What a failure costs an item is the
 * retry budget's to say (hook-budget.ts).
 */
export class InboundWorker {
  private readonly breaker: Breaker;
  private readonly budget: HookRetryBudget;
  private readonly reports: ReportFlusher;
  private readonly pump: Pump<InboxEntry>;
  private readonly shutdown = new AbortController();
  private lastError: InboundStatus["lastError"] = null;
  private lastSuccessAt: number | null = null;
  private held: HookHold | null = null;

  constructor(private readonly options: InboundOptions) {
    const { store, clock, logger, delivery } = options;
    this.budget = new HookRetryBudget({ ...delivery, random: options.random });
    this.reports = new ReportFlusher(store, clock, options.sendReport);
    this.breaker = new Breaker(
      "hook",
      {
        failures: delivery.breakerFailures,
        openMs: delivery.breakerOpenMs,
        isFailure: (error) => error instanceof RetryableHookFailure,
        now: () => clock.now(),
      },
      (state) => {
        logger.warn({ event: `hook_breaker_${state}` }, `hook breaker is ${state}`);
        options.metrics?.breakerChanged("hook", state, clock.now());
        if (state === "open") this.parkOutage();
        // A closed breaker means everything that waited for the probe can go right away.
        if (state === "closed") queueMicrotask(() => this.wake());
      },
    );
    this.pump = new Pump<InboxEntry>({
      clock,
      concurrency: delivery.concurrency,
      pick: (now, limit, busy) => {
        if (this.held || this.breaker.isShut()) {
          this.tendWaiting(now, busy);
          return [];
        }
        // Once the open window is over only one call goes: the probe.
        return store.inbox.due(now, this.breaker.probeDue() ? 1 : limit, busy);
      },
      nextWakeDelay: (now) => {
        const dueAt = store.inbox.nextDueAt();
        return dueAt === null ? null : Math.min(dueAt - now, MAX_SLEEP_MS);
      },
      run: (entry) => this.deliver(entry),
      onError: (error, entry) => this.stepFailed(error, entry),
    });
    // Items parked behind a held hook (NEVER: "until a restart") or an open breaker waited for
    // the process that held them. This is the restart: the hold and the breaker start afresh,
    // so every waiting item is looked at again now, not at its expiry.
    if (store.isOpen) store.inbox.wakePending(clock.now());
  }

  wake(): void {
    this.pump.wake();
  }

  /** Dead letters an operator put back into the inbox: delivered even past their deadline. */
  replayed(ids: readonly string[]): void {
    this.budget.replayedByOperator(ids);
    this.wake();
  }

  /** Inbox items whose webhook call is under way, or whose outcome is not committed yet (a stop repeats the call). */
  hookCallsInFlight(): string[] {
    return [...this.pump.runningIds, ...this.options.store.inbox.waitingIds()];
  }

  status(): InboundStatus {
    return {
      format: this.options.format.name,
      breaker: this.breaker.state(),
      inFlight: this.pump.inFlight,
      lastError: this.lastError,
      lastSuccessAt: this.lastSuccessAt,
      held: this.held,
    };
  }

  /** Send the `processed` frames owed to the relay while the link takes them. */
  flushReports(): void {
    this.reports.flush();
  }

  /** Start nothing new; give calls in flight `graceMs` to finish, then abort them (the items stay pending). */
  async stop(graceMs: number): Promise<void> {
    const drained = this.pump.stop();
    const timer = setTimeout(() => this.shutdown.abort(), graceMs);
    await drained;
    clearTimeout(timer);
    if (this.options.store.isOpen) this.options.store.inbox.settleWaiting();
  }

  /** Record what became of an item with the outcomes finished close by (store-inbox-waiting.ts). */
  private settleSoon(outcome: InboxOutcome): void {
    this.options.store.inbox.settleSoon(outcome, (error, entry) => this.stepFailed(error, entry));
  }

  private stepFailed(error: unknown, entry: InboxEntry): void {
    const { store, clock, logger, delivery } = this.options;
    logger.error(
      { event: "hook_worker_error", messageId: entry.messageId, error: (error as Error).message },
      "inbound worker step failed",
    );
    // Keep the item, but not in a tight loop: try it again after the longest backoff.
    if (store.isOpen) store.inbox.defer(entry.id, clock.now() + delivery.backoffMaxMs);
  }

  /**
   * While no call may start (breaker open or probing, hook held): dead-letter the waiting items
   * whose deadline has come, and park the others until the next probe (for ever while held),
   * never past their deadline, so the worker sleeps instead of polling and wakes for each expiry.
   */
  private tendWaiting(now: number, busy: ReadonlySet<string>): void {
    const { store } = this.options;
    const until = this.held ? NEVER : this.breaker.probeAt();
    // One unsynced commit: a lost park only makes an item due early, a lost expiry repeats.
    store.lazily(() =>
      store.batch(() => {
        for (;;) {
          let expired = 0;
          for (const entry of store.inbox.due(now, TEND_BATCH, busy)) {
            const verdict = this.budget.beforeCall(entry, now);
            if (verdict.kind === "expired") {
              this.giveUp(entry, verdict, now);
              expired++;
            } else if (until > now) {
              store.inbox.defer(entry.id, this.budget.wakeBy(entry, until));
            }
          }
          // An expiry moves its lane up; otherwise nothing new can have become due.
          if (expired === 0) return;
        }
      }),
    );
  }

  /** The breaker just opened: what failed in the run that opened it waits for the probe, not its own backoff. */
  private parkOutage(): void {
    const { store } = this.options;
    if (!store.isOpen) return;
    const parked = this.budget.hookWentDown(this.breaker.probeAt());
    store.lazily(() =>
      store.batch(() => {
        for (const { id, at } of parked) store.inbox.defer(id, at);
      }),
    );
  }

  private context(entry: InboxEntry, attempts: number) {
    return { correlationId: entry.correlationId, messageId: entry.messageId, kind: entry.kind, attempt: attempts + 1 };
  }

  /** Dead-letter an item without a call: past its deadline, or out of attempts. */
  private giveUp(entry: InboxEntry, verdict: Exclude<Verdict, { kind: "call" }>, now: number): void {
    const { store, logger } = this.options;
    const reason = verdict.kind === "expired" ? EXPIRED_IN_INBOX : verdict.reason;
    store.lazily(() => store.inbox.deadLetter(entry, verdict.attempts, reason, "dead_lettered", now));
    this.budget.finished(entry.id);
    logger.warn(
      {
        event: verdict.kind === "expired" ? "hook_expired_in_inbox" : "hook_dead_lettered",
        ...this.context(entry, verdict.attempts),
        reason,
      },
      verdict.kind === "expired" ? "not delivered to the agent before it expired" : "hook retries exhausted",
    );
    this.reports.schedule();
  }

  private async deliver(entry: InboxEntry): Promise<void> {
    const { store, clock, logger, format } = this.options;
    const pickedAt = clock.now();
    if (!entry.item) {
      const reason = "stored item is unreadable";
      const now = pickedAt;
      this.settleSoon({ kind: "dead_letter", entry, attempts: entry.attempts + 1, reason, outcome: "failed", now });
      this.budget.finished(entry.id);
      logger.error(
        { event: "hook_dead_lettered", ...this.context(entry, entry.attempts), reason: "unreadable" },
        "unreadable inbox item",
      );
      this.reports.schedule();
      return;
    }
    const verdict = this.budget.beforeCall(entry, pickedAt);
    if (verdict.kind !== "call") {
      this.giveUp(entry, verdict, pickedAt);
      return;
    }
    const context = this.context(entry, verdict.attempts);
    this.options.stopPoints?.reached("after_ack", [entry], () => this.hookCallsInFlight());
    const request = format.request(entry.item);
    if (request === null) {
      // The format does not post this item (an OpenClaw receipt the agent is not told about): done here.
      this.settleSoon({ kind: "delivered", entry, attempts: verdict.attempts, now: clock.now() });
      this.budget.finished(entry.id);
      logger.debug({ event: "hook_not_posted", ...context, format: format.name }, "item settled without a hook call");
      this.reports.schedule();
      return;
    }
    const probe = this.breaker.probeDue();
    const startedAt = clock.now();
    const result = await callThroughBreaker(this.breaker, () =>
      postHook(this.options.fetch, request, format.timeoutMs, () => clock.now(), this.shutdown.signal, format),
    );
    if (result === null) {
      store.inbox.defer(entry.id, this.budget.wakeBy(entry, this.breaker.probeAt()));
      return;
    }
    // Aborted by shutdown: the outcome is unknown, so nothing is recorded and the item is tried again later.
    if (!store.isOpen || this.shutdown.signal.aborted) return;
    const attempts = verdict.attempts;
    const now = clock.now();
    this.options.metrics?.observeHook(entry.kind, result.kind, now - startedAt);
    if (result.kind !== "delivered") this.lastError = { reason: result.reason, at: now };
    else this.lastSuccessAt = now;
    switch (result.kind) {
      case "delivered":
        this.budget.succeeded(entry.id);
        // Unsynced: losing this in a power cut only calls the hook again (at least once).
        this.settleSoon({ kind: "delivered", entry, attempts: attempts + 1, now });
        logger.info({ event: "hook_delivered", ...context, status: result.status }, "delivered to the agent");
        break;
      case "rejected":
        this.budget.finished(entry.id);
        this.settleSoon({
          kind: "dead_letter",
          entry,
          attempts: attempts + 1,
          reason: result.reason,
          outcome: "failed",
          now,
        });
        logger.warn({ event: "hook_rejected", ...context, status: result.status }, "the agent hook refused the item");
        break;
      case "held":
        // No item is at fault and no retry can mend a refused token: nothing is charged or failed,
        // the items wait (parked by the next pick), and no further call is made until a restart.
        if (!this.held) {
          this.held = { reason: result.reason, status: result.status, since: now };
          logger.error(
            { event: "hook_auth_refused", ...context, status: result.status, format: format.name },
            "the hook refused the connector's token; hook delivery is held until the connector is restarted with a fixed config",
          );
        }
        return;
      case "retry": {
        if (result.unexpected) {
          logger.warn(
            { event: "hook_unexpected_answer", ...context, status: result.status, reason: result.reason },
            "the hook answered in a way its format does not document; retrying",
          );
        }
        // The probe, or a call the breaker opened on (or finished after it opened): the hook was down.
        const down = probe || this.breaker.state() !== "closed";
        const nextAt = this.budget.failed(entry, result, now, { down, probeAt: this.breaker.probeAt() });
        this.settleSoon({ kind: "retry", entry, attempts, nextAttemptAt: nextAt, error: result.reason, now });
        this.budget.stored(entry.id);
        logger.warn(
          { event: "hook_retry", ...context, reason: result.reason, delayMs: nextAt - now, hookDown: down },
          "hook will be retried",
        );
        break;
      }
    }
    this.reports.schedule();
  }
}
