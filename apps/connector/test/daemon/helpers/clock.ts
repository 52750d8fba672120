import type { Clock, TimerHandle } from "../../../src/daemon/clock.js";

interface Pending {
  at: number;
  order: number;
  callback: () => void;
  cancelled: boolean;
}

/** A clock whose time moves only when a test says so; due timers run in time order. */
export class ManualClock implements Clock {
  private current: number;
  private order = 0;
  private pending: Pending[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const entry: Pending = { at: this.current + Math.max(0, delayMs), order: this.order++, callback, cancelled: false };
    this.pending.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  /** Move time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.pending
        .filter((entry) => !entry.cancelled && entry.at <= target)
        .sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!due) break;
      due.cancelled = true;
      this.current = Math.max(this.current, due.at);
      due.callback();
    }
    this.current = target;
    this.pending = this.pending.filter((entry) => !entry.cancelled);
  }

  /**
   * Time passes and no timer runs, as in a process that was stopped (SIGSTOP, a machine asleep);
   * the next `advance` runs what fell due meanwhile, each timer late.
   */
  pause(ms: number): void {
    this.current += ms;
  }

  /** Timers still waiting, for assertions. */
  pendingDelays(): number[] {
    return this.pending.filter((entry) => !entry.cancelled).map((entry) => entry.at - this.current);
  }
}
