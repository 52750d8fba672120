import type { IdSet, InboxEntry, InboxOutcome } from "./store-inbox-items.js";

/**
 * Outcomes waiting at most this many before they are committed at once: while they wait, their
 * items are still pending rows at the front of their lanes, which each pick reads past.
 */
export const MAX_WAITING_OUTCOMES = 32;

/** Runs work with unsynced commits (Store.lazily). */
export type Relaxed = <T>(work: () => T) => T;

export interface Waiting {
  outcome: InboxOutcome;
  /** Its commit failed (when committed on its own after the batch's failed). */
  failed: (error: unknown, entry: InboxEntry) => void;
}

/**
 * The hook worker's outcomes (delivered, dead-lettered, retried) not yet committed, so that items
 * that finish close together share one unsynced commit instead of one each (issue 18). A lost
 * commit costs what any unsynced bookkeeping commit may cost: the hook is called again (at least
 * once). They are committed
 * - in the transaction of the next deliver frame's items, before them (storeInbound: so the cap
 *   counts exactly what it counted when each outcome was committed at once, and the outcomes ride
 *   on that commit instead of paying one of their own);
 * - before anything else reads or writes what they change: every inbox write and read but the pick,
 *   the pending reports (so no report goes out for an outcome not committed), dead letters,
 *   counts, trace, pruning;
 * - at once for a retry (it keeps its lane's place: until its new time is written a pick would
 *   pass it), and past MAX_WAITING_OUTCOMES;
 * - otherwise with the next `processed` flush (at most ~10 ms after the first, inbound-reports.ts),
 *   and when the worker stops.
 * Until then the pick skips their items (they are in hand, like the calls in flight), and a stop
 * point names them among the calls in flight: a stop then repeats their calls.
 */
export class WaitingOutcomes {
  private waiting = new Map<string, Waiting>();

  constructor(
    private readonly relaxed: Relaxed,
    private readonly settle: (outcomes: readonly InboxOutcome[]) => void,
  ) {}

  ids(): string[] {
    return [...this.waiting.keys()];
  }

  add(outcome: InboxOutcome, failed: Waiting["failed"]): void {
    this.waiting.set(outcome.entry.id, { outcome, failed });
    if (outcome.kind === "retry" || this.waiting.size >= MAX_WAITING_OUTCOMES) this.commit();
  }

  /** `busy` and the items whose outcome waits here, for a pick. */
  skipping(busy: IdSet): IdSet {
    if (this.waiting.size === 0) return busy;
    const waiting = this.waiting;
    return { has: (id) => busy.has(id) || waiting.has(id), size: busy.size + waiting.size };
  }

  /**
   * Commit what waits, in one unsynced transaction. Should it fail, each outcome is committed on
   * its own, so one bad item never takes the others' outcomes with it; one that fails alone goes
   * to its `failed` (the worker logs it and tries the item again later, as for any failed step).
   */
  commit(): void {
    const waiting = this.take();
    if (waiting.length === 0) return;
    try {
      this.relaxed(() => this.settle(waiting.map((one) => one.outcome)));
    } catch {
      this.commitEach(waiting);
    }
  }

  /**
   * Run `transaction` (an inbox transaction of the caller's) with what waits written first, inside
   * it — riding on its commit — in a savepoint of its own, so an outcome that cannot be written
   * never keeps the caller's writes out: those outcomes are committed one by one afterwards. If
   * the transaction fails, what waited waits again.
   */
  within<T>(transaction: (first: () => void) => T): T {
    const waiting = this.take();
    let unwritten: Waiting[] = [];
    const first = () => {
      if (waiting.length === 0) return;
      try {
        this.settle(waiting.map((one) => one.outcome));
      } catch {
        unwritten = waiting;
      }
    };
    let result: T;
    try {
      result = transaction(first);
    } catch (error) {
      this.putBack(waiting);
      throw error;
    }
    this.commitEach(unwritten);
    return result;
  }

  /** Everything that waits, no longer waiting here: the caller writes it (or `putBack`s it). */
  take(): Waiting[] {
    if (this.waiting.size === 0) return [];
    const waiting = [...this.waiting.values()];
    this.waiting = new Map();
    return waiting;
  }

  /** What a caller took but could not write: it waits again, as before. */
  putBack(waiting: readonly Waiting[]): void {
    for (const one of waiting) if (!this.waiting.has(one.outcome.entry.id)) this.waiting.set(one.outcome.entry.id, one);
  }

  /** Commit each outcome on its own (a batch of them failed). */
  commitEach(waiting: readonly Waiting[]): void {
    for (const { outcome, failed } of waiting) {
      try {
        this.relaxed(() => this.settle([outcome]));
      } catch (error) {
        failed(error, outcome.entry);
      }
    }
  }
}
