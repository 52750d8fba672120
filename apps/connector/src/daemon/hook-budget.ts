import { PROTOCOL_LIMITS } from "@clawrelay/protocol";
import { fullJitterDelay, type Random } from "./clock.js";
import type { InboxEntry } from "./store-inbox.js";

/**
 * The hook retry budget (PROTOCOL.md §8 "Hook retry budget"), all of the attempt accounting in
 * one place:
 *
 * - A failed call is charged to its item only once the hook is known to have been up: a later
 *   call of another item succeeded, and the run of failures in between never opened the
 *   breaker. A run that opens it was an outage, and none of its calls are charged; neither are
 *   calls made while the breaker is open or probing. So an outage, however long, dead-letters
 *   nothing before the item's deadline, and a message the hook keeps refusing while other items
 *   get through is dead-lettered after `maxAttempts` charged failures.
 * - Waiting out an outage, an item is parked until the breaker's next probe, not its own
 *   backoff, so everything waiting moves as soon as a probe succeeds.
 * - An item still undelivered at its deadline (a message's `expiresAt`, a receipt's arrival plus
 *   7 days) is dead-lettered `expired_in_inbox`, and no wait runs past that deadline.
 *
 * Failures not yet judged live in memory only: a restart forgets them, which can only charge
 * less, never more.
 */

export const EXPIRED_IN_INBOX = "expired_in_inbox";
/** A hook's Retry-After is honoured up to an hour, so a typo there cannot park an item for days. */
const MAX_RETRY_AFTER_MS = 3_600_000;
const RECEIPT_LIFETIME_MS = PROTOCOL_LIMITS.receiptTtlSeconds * 1000;

export interface BudgetOptions {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  random: Random;
}

export type Verdict =
  /** Past its deadline: dead-letter it (`expired_in_inbox`) without a call. */
  | { kind: "expired"; attempts: number }
  /** Charged `maxAttempts` failures: dead-letter it without a call. */
  | { kind: "exhausted"; attempts: number; reason: string }
  /** Call the hook; `attempts` is what is charged so far (store it with the call's outcome). */
  | { kind: "call"; attempts: number };

interface ItemState {
  /** The runs of failures (by run number) this item failed in and that are not judged yet. */
  unjudged: number[];
  /** Failures already judged as charged but not yet stored with the item. */
  charged: number;
  /** Failed calls in a row, charged or not, for the backoff. */
  failuresInRow: number;
  deadline: number;
  lastReason: string;
}

export function itemDeadline(entry: Pick<InboxEntry, "item" | "receivedAt">): number {
  if (entry.item?.kind === "message") return entry.item.expiresAt;
  return entry.receivedAt + RECEIPT_LIFETIME_MS;
}

export class HookRetryBudget {
  /** Number of the current run of failures: every success ends one. */
  private run = 0;
  private readonly items = new Map<string, ItemState>();
  /** Items an operator replayed: asked for again on purpose, so their deadline no longer applies. */
  private readonly replayed = new Set<string>();

  constructor(private readonly options: BudgetOptions) {}

  /** Judge an item about to be called: charge the failures that proved to be its own. */
  beforeCall(entry: InboxEntry, now: number): Verdict {
    const state = this.items.get(entry.id);
    if (state) {
      const judged = state.unjudged.filter((run) => run < this.run).length;
      state.charged += judged;
      state.unjudged = state.unjudged.filter((run) => run === this.run);
    }
    const attempts = entry.attempts + (state?.charged ?? 0);
    if (!this.replayed.has(entry.id) && now >= itemDeadline(entry)) return { kind: "expired", attempts };
    if (attempts >= this.options.maxAttempts) {
      return { kind: "exhausted", attempts, reason: `retries exhausted: ${state?.lastReason ?? "hook failures"}` };
    }
    return { kind: "call", attempts };
  }

  /** Whether an item should be dead-lettered now, without a call (it is waiting, not being called). */
  isExpired(entry: Pick<InboxEntry, "id" | "item" | "receivedAt">, now: number): boolean {
    return !this.replayed.has(entry.id) && now >= itemDeadline(entry);
  }

  /** The item's charged attempts were stored with its outcome (or it is finished): forget them. */
  stored(id: string): void {
    const state = this.items.get(id);
    if (state) state.charged = 0;
  }

  /** A call succeeded: the hook is up, and the failures of the run it ends were each item's own. */
  succeeded(id: string): void {
    this.finished(id);
    this.run++;
  }

  /** The item is done (delivered, failed, dead-lettered): nothing of it is kept. */
  finished(id: string): void {
    this.items.delete(id);
    this.replayed.delete(id);
  }

  /**
   * A call failed. `hookDown`: the breaker was probing or is open now, so the call is not
   * charged. Returns when to call again: the next probe (`probeAt`) while the hook is down, else
   * the item's own backoff or the hook's Retry-After, never past the deadline.
   */
  failed(
    entry: InboxEntry,
    failure: { reason: string; retryAfterMs: number | undefined },
    now: number,
    hook: { down: boolean; probeAt: number },
  ): number {
    const state = this.stateOf(entry);
    state.failuresInRow++;
    state.lastReason = failure.reason;
    let next: number;
    if (hook.down) {
      next = Math.max(hook.probeAt, now);
    } else {
      state.unjudged.push(this.run);
      const backoff = fullJitterDelay(
        Math.max(state.failuresInRow, entry.attempts + 1) - 1,
        this.options.backoffBaseMs,
        this.options.backoffMaxMs,
        this.options.random,
      );
      next = now + (failure.retryAfterMs !== undefined ? Math.min(failure.retryAfterMs, MAX_RETRY_AFTER_MS) : backoff);
    }
    return this.replayed.has(entry.id) ? next : Math.min(next, state.deadline);
  }

  /**
   * The breaker just opened: the current run of failures was an outage, so none of it is
   * charged. Returns the items that failed in it, with when each should next be tried (the next
   * probe, or its deadline when that comes first), so none waits out a longer backoff of its own.
   */
  hookWentDown(probeAt: number): { id: string; at: number }[] {
    const parked: { id: string; at: number }[] = [];
    for (const [id, state] of this.items) {
      const before = state.unjudged.length;
      state.unjudged = state.unjudged.filter((run) => run !== this.run);
      if (state.unjudged.length === before) continue;
      parked.push({ id, at: this.replayed.has(id) ? probeAt : Math.min(probeAt, state.deadline) });
    }
    return parked;
  }

  /** Dead letters an operator put back: their deadline has passed on purpose, so it is not applied again. */
  replayedByOperator(ids: readonly string[]): void {
    for (const id of ids) this.replayed.add(id);
  }

  /** When a waiting item should be looked at again at the latest (its deadline, unless replayed). */
  wakeBy(entry: Pick<InboxEntry, "id" | "item" | "receivedAt">, at: number): number {
    return this.replayed.has(entry.id) ? at : Math.min(at, itemDeadline(entry));
  }

  private stateOf(entry: InboxEntry): ItemState {
    let state = this.items.get(entry.id);
    if (!state) {
      state = { unjudged: [], charged: 0, failuresInRow: 0, deadline: itemDeadline(entry), lastReason: "" };
      this.items.set(entry.id, state);
    }
    return state;
  }
}
