/**
 * How long counters and metrics may wait in memory after their first pending change. Writing
 * them on every message cost about a dozen SQLite statements a message (issue 18); written
 * behind, a busy session writes each distinct row once per interval. The interval is a balance:
 * - what an eviction without warning (a deploy, a crash) can lose: at most this long of counters
 *   and metrics, never a message or its state, which are written at once;
 * - alarms, which are billed like requests: a session whose traffic stops wakes once more to
 *   flush, so at 1 s a session getting one message a second paid one alarm a message;
 * - hibernation: the runtime may evict a session idle for about 10 s, taking memory with it and
 *   leaving the alarm to bring it back — 5 s keeps the alarm well ahead of that.
 */
export const METRICS_FLUSH_AFTER_MS = 5000;

/** An owner holding writes in memory (meta's counters, the metric rows). */
export interface WrittenBehind {
  hasPending(): boolean;
  flush(): void;
}

/**
 * The deadline of the session's written-behind state. Its owners do not read the clock, so the
 * deadline starts with the unit of work that left the first pending change (`settled`); the
 * scheduler wakes the session for it (`dueAt`), and reads from SQLite flush their own owner first.
 */
export class WriteBehind {
  /** The `now` of the unit of work that first left something pending; null while nothing is. */
  private pendingSince: number | null = null;

  constructor(private readonly parts: readonly WrittenBehind[]) {}

  private pending(): boolean {
    return this.parts.some((p) => p.hasPending());
  }

  /** After a unit of work: flush when due, and start the deadline if it left the first change. */
  settled(now: number): void {
    this.flushIfDue(now);
    if (!this.pending()) this.pendingSince = null;
    else this.pendingSince ??= now;
  }

  /** When the pending writes must be flushed (for the scheduler); null while there are none. */
  dueAt(): number | null {
    if (this.pendingSince === null || !this.pending()) return null;
    return this.pendingSince + METRICS_FLUSH_AFTER_MS;
  }

  flushIfDue(now: number): void {
    const due = this.dueAt();
    if (due !== null && now >= due) this.flush();
  }

  flush(): void {
    for (const part of this.parts) part.flush();
    this.pendingSince = null;
  }
}
