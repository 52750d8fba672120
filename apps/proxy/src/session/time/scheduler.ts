import type { Sql } from "../../platform/sql.js";

/**
 * Deadlines of timed work kept in storage, each an indexed MIN lookup, read in one statement:
 * this runs after every unit of work, and one exec costs less than seven.
 */
const DEADLINES_SQL = `SELECT
  (SELECT expires_at FROM items WHERE state IN ('queued', 'inflight') ORDER BY expires_at LIMIT 1) AS expiry,
  (SELECT ack_deadline FROM items WHERE state = 'inflight' ORDER BY ack_deadline LIMIT 1) AS ack,
  (SELECT delayed_due FROM items WHERE delayed_due IS NOT NULL ORDER BY delayed_due LIMIT 1) AS delayed,
  (SELECT next_attempt_at FROM receipt_outbox ORDER BY next_attempt_at LIMIT 1) AS receipt,
  (SELECT finished_at FROM items WHERE finished_at IS NOT NULL ORDER BY finished_at LIMIT 1) AS finished,
  (SELECT expires_at FROM idempotency ORDER BY expires_at LIMIT 1) AS idempotency,
  (SELECT next_attempt_at FROM items WHERE state = 'queued' AND next_attempt_at > 0 ORDER BY next_attempt_at LIMIT 1) AS backoff`;

/** The kinds of deadline kept in storage, one column (and index) each. */
export type StoredDeadline = "expiry" | "ack" | "delayed" | "receipt" | "finished" | "idempotency" | "backoff";
type Deadlines = Record<StoredDeadline, number | null>;
const NO_DEADLINES: Deadlines = {
  expiry: null,
  ack: null,
  delayed: null,
  receipt: null,
  finished: null,
  idempotency: null,
  backoff: null,
};

/**
 * What an owner tells the scheduler when it writes a deadline column (an item's expiry, ack
 * deadline, delay or backoff; a finished item; an outbox retry; an idempotency key's expiry).
 * Every writer of those columns calls it: the scheduler's copy of the stored deadlines is only
 * read again from SQLite after the alarm has run.
 */
export interface DeadlineNotes {
  made(kind: StoredDeadline, at: number): void;
}

/** The deadlines kept outside storage, each asked of its owner. */
export interface SchedulerHost {
  readonly storage: Pick<DurableObjectStorage, "getAlarm" | "setAlarm">;
  readonly sql: Sql;
  /** How long finished records are kept (they are swept once past it). */
  readonly recordRetentionMs: number;
  /** The next socket check: a handshake deadline, staleness, a token's expiry (connections). */
  socketCheckAt(): number | null;
  /** Whether a connector can take items now: only then do backoffs and breaker probes matter. */
  deliveryActive(): boolean;
  /** When the open delivery breaker lets a probe through (delivery). */
  probeAt(): number | null;
  /** When the next metrics summary is due (observation). */
  reportDueAt(): number | null;
  /** When the counters and metrics held in memory must be written (write-behind.ts). */
  flushDueAt(): number | null;
}

/**
 * The one owner of time (PROTOCOL.md §5): the one alarm does all timed work, and this is the
 * only place that knows what is due next and the only caller of `setAlarm`. After every unit of
 * work it takes every deadline (in storage and of the owners) and brings the alarm forward to the
 * earliest; the alarm is never moved later, so a wake already set is never lost.
 *
 * The stored deadlines are read from SQLite once, then kept as a lower bound: owners report each
 * deadline they write (`made`), and a deadline that goes away (an item acked) is forgotten only
 * when the alarm has run and the next unit of work reads them again. Reading them after every
 * event was three statements a message, each seven index lookups (issue 18). A stale deadline can
 * only be early, and the alarm is never moved later anyway: it wakes the session once, which then
 * reads the real ones. In steady traffic the write-behind flush wakes it every 5 s regardless.
 */
export class Scheduler implements DeadlineNotes {
  /** The alarm time as last set or read; undefined until read at startup. */
  private scheduledAlarm: number | null = null;
  /** The stored deadlines as last read, lowered by every `made` since; null: read them again. */
  private stored: Deadlines | null = null;

  constructor(private readonly host: SchedulerHost) {}

  /** At startup (inside blockConcurrencyWhile): the alarm that is already set. */
  async load(): Promise<void> {
    this.scheduledAlarm = await this.host.storage.getAlarm();
  }

  /** The alarm fired: none is set until the next `reschedule`, which reads the deadlines again. */
  fired(): void {
    this.scheduledAlarm = null;
    this.stored = null;
  }

  made(kind: StoredDeadline, at: number): void {
    const { stored } = this;
    // Not read yet: the first read sees the row itself.
    if (!stored) return;
    const known = stored[kind];
    if (known === null || at < known) stored[kind] = at;
  }

  /**
   * The stored deadlines from indexed MIN lookups, read once per alarm (see the class comment).
   * `fresh` reads them again without keeping them: tests compare the two, and the kept copy must
   * never be later.
   */
  storedDeadlines(options: { fresh?: boolean } = {}): Deadlines {
    if (options.fresh) return this.host.sql.one<Deadlines>(DEADLINES_SQL) ?? { ...NO_DEADLINES };
    this.stored ??= this.host.sql.one<Deadlines>(DEADLINES_SQL) ?? { ...NO_DEADLINES };
    return this.stored;
  }

  /** The earliest time any timed work is due. */
  nextDue(): number | null {
    const { host } = this;
    const d = this.storedDeadlines();
    const candidates: (number | null | undefined)[] = [
      host.socketCheckAt(),
      d.expiry,
      d.ack,
      d.delayed,
      d.receipt,
      // Finished records are swept once past retention.
      typeof d.finished === "number" ? d.finished + host.recordRetentionMs : null,
      d.idempotency,
      host.reportDueAt(),
      host.flushDueAt(),
    ];
    // Redelivery backoff and breaker probes only matter while a connector can take the items.
    if (host.deliveryActive()) candidates.push(d.backoff, host.probeAt());
    let next: number | null = null;
    for (const at of candidates) if (typeof at === "number" && (next === null || at < next)) next = at;
    return next;
  }

  /** Make sure the alarm covers what is due next. */
  reschedule(now: number): void {
    const next = this.nextDue();
    if (next === null) return;
    // Never at or before now: workerd drops an alarm set to the current time from inside alarm()
    // once the handler returns (workerd#6866), and the session would wait for it forever.
    const target = Math.max(next, now + 1);
    if (this.scheduledAlarm !== null && this.scheduledAlarm <= target) return;
    this.scheduledAlarm = target;
    void this.host.storage.setAlarm(target);
  }
}
