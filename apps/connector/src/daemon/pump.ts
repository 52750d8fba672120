import type { Clock, TimerHandle } from "./clock.js";

export interface PumpOptions<T extends { id: string }> {
  clock: Clock;
  concurrency: number;
  /**
   * Up to `limit` items ready now, in the order they should run; `busy` ids are already running
   * (the pump's own live set: read it during the call, do not keep it).
   */
  pick: (now: number, limit: number, busy: ReadonlySet<string>) => T[];
  /** Milliseconds until something may be ready again (a retry time, a breaker reopening), or null. */
  nextWakeDelay: (now: number) => number | null;
  run: (item: T) => Promise<void>;
  onError: (error: unknown, item: T) => void;
}

/** When nothing could run although something claims to be due, wait at least this long before looking again. */
const IDLE_FLOOR_MS = 10;

/**
 * Runs durable work items with bounded concurrency, waking on demand (`wake()`, e.g.
 * after a commit) and on the earliest retry time. Never blocks its caller.
 */
export class Pump<T extends { id: string }> {
  private readonly busy = new Map<string, Promise<void>>();
  /** The keys of `busy`, kept beside it so a pick is handed them without a copy per wake. */
  private readonly busyIds = new Set<string>();
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(private readonly options: PumpOptions<T>) {}

  get inFlight(): number {
    return this.busy.size;
  }

  /** The ids of the items running now. */
  get runningIds(): string[] {
    return [...this.busy.keys()];
  }

  wake(): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = null;
    const { clock, concurrency } = this.options;
    const now = clock.now();
    let launched = 0;
    const free = concurrency - this.busy.size;
    if (free > 0) {
      for (const item of this.options.pick(now, free, this.busyIds)) {
        if (this.busy.has(item.id)) continue;
        this.launch(item);
        launched++;
      }
    }
    if (this.busy.size >= concurrency) return;
    const delay = this.options.nextWakeDelay(now);
    if (delay === null) return;
    const floor = launched === 0 && this.busy.size === 0 ? IDLE_FLOOR_MS : 0;
    if (delay <= 0 && this.busy.size > 0) return;
    this.timer = clock.setTimeout(() => this.wake(), Math.max(delay, floor));
  }

  /** Stop starting work; resolves when what is running has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await Promise.allSettled([...this.busy.values()]);
  }

  private launch(item: T): void {
    const task = (async () => {
      try {
        await this.options.run(item);
      } catch (error) {
        this.options.onError(error, item);
      } finally {
        this.busy.delete(item.id);
        this.busyIds.delete(item.id);
        this.wake();
      }
    })();
    this.busy.set(item.id, task);
    this.busyIds.add(item.id);
  }
}
