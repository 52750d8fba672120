export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  failures: number;
  openMs: number;
  isFailure: (error: Error) => boolean;
  /** The clock the open window is measured on (injected in tests; the wall clock by default). */
  now?: () => number;
}

/** Thrown by `execute` while the breaker lets no call through. */
export class BrokenCircuitError extends Error {
  constructor(name: string) {
    super(`the ${name} breaker is open`);
    this.name = "BrokenCircuitError";
  }
}

/**
 * A consecutive-failure circuit breaker: N failures in a row open it for `openMs`, then one
 * call probes (half-open); its success closes the breaker, its failure opens it again. It also
 * says how long it stays shut, so a worker can sleep instead of polling. Errors `isFailure` does
 * not claim count as successes (the far side answered). It reads time from `now`, so an injected
 * clock drives it like every other timer of the connector.
 */
export class Breaker {
  private current: "closed" | "open" | "probing" = "closed";
  private failuresInRow = 0;
  private openUntil = 0;
  private readonly now: () => number;

  constructor(
    readonly name: string,
    private readonly options: BreakerOptions,
    private readonly onChange?: (state: BreakerState) => void,
  ) {
    this.now = options.now ?? Date.now;
  }

  async execute<T>(task: () => Promise<T>): Promise<T> {
    if (this.current === "probing") throw new BrokenCircuitError(this.name);
    let probe = false;
    if (this.current === "open") {
      if (this.now() < this.openUntil) throw new BrokenCircuitError(this.name);
      probe = true;
      this.move("probing");
    }
    let value: T;
    try {
      value = await task();
    } catch (error) {
      if (error instanceof Error && this.options.isFailure(error)) this.failed(probe);
      else this.succeeded(probe);
      throw error;
    }
    this.succeeded(probe);
    return value;
  }

  state(): BreakerState {
    if (this.current === "closed") return "closed";
    if (this.current === "probing") return "half_open";
    return this.now() < this.openUntil ? "open" : "half_open";
  }

  /** True while no new call may start: open, or half-open with its one probe under way. */
  isShut(): boolean {
    if (this.current === "probing") return true;
    return this.current === "open" && this.now() < this.openUntil;
  }

  /** True when the next call will be the probe: only one call should be started. */
  probeDue(): boolean {
    return this.current === "open" && this.now() >= this.openUntil;
  }

  /** Milliseconds until the breaker lets a probe through (0 when it already would). */
  remainingOpenMs(): number {
    if (this.current !== "open") return 0;
    return Math.max(0, this.openUntil - this.now());
  }

  /** When the next probe may start: the end of the open window, or now when not open. */
  probeAt(): number {
    return this.current === "open" ? this.openUntil : this.now();
  }

  private succeeded(probe: boolean): void {
    this.failuresInRow = 0;
    // A call that started before the breaker opened proves nothing about the probe to come.
    if (probe) this.move("closed");
  }

  private failed(probe: boolean): void {
    if (probe) {
      this.open();
      return;
    }
    if (this.current !== "closed") return;
    this.failuresInRow++;
    if (this.failuresInRow >= this.options.failures) this.open();
  }

  private open(): void {
    this.failuresInRow = 0;
    this.openUntil = this.now() + this.options.openMs;
    this.move("open");
  }

  private move(next: "closed" | "open" | "probing"): void {
    this.current = next;
    this.onChange?.(this.state());
  }
}

export function isBrokenCircuit(error: unknown): boolean {
  return error instanceof BrokenCircuitError;
}
