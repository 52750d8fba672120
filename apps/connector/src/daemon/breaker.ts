import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from "cockatiel";

export type BreakerState = "closed" | "open" | "half_open";

/**
 * A cockatiel circuit breaker (N consecutive failures, open for `openMs`, then one probe)
 * that also says how long it stays shut, so a worker can sleep instead of polling.
 * Cockatiel reads `Date.now()` itself, so the open window is measured on the wall clock.
 */
export class Breaker {
  private readonly policy;
  private openUntil = 0;

  constructor(
    readonly name: string,
    options: { failures: number; openMs: number; isFailure: (error: Error) => boolean },
    onChange?: (state: BreakerState) => void,
  ) {
    this.policy = circuitBreaker(handleWhen(options.isFailure), {
      halfOpenAfter: options.openMs,
      breaker: new ConsecutiveBreaker(options.failures),
    });
    this.policy.onBreak(() => {
      this.openUntil = Date.now() + options.openMs;
    });
    if (onChange) this.policy.onStateChange(() => onChange(this.state()));
  }

  execute<T>(task: () => Promise<T>): Promise<T> {
    return this.policy.execute(task);
  }

  state(): BreakerState {
    switch (this.policy.state) {
      case CircuitState.Closed:
        return "closed";
      case CircuitState.HalfOpen:
        return "half_open";
      default:
        return Date.now() < this.openUntil ? "open" : "half_open";
    }
  }

  /** True while no new call may start: open, or half-open with its one probe under way. */
  isShut(): boolean {
    const state = this.policy.state;
    if (state === CircuitState.HalfOpen) return true;
    return state !== CircuitState.Closed && Date.now() < this.openUntil;
  }

  /** Milliseconds until the breaker lets a probe through (0 when it already would). */
  remainingOpenMs(): number {
    if (this.policy.state === CircuitState.Closed) return 0;
    return Math.max(0, this.openUntil - Date.now());
  }
}

export function isBrokenCircuit(error: unknown): boolean {
  return error instanceof BrokenCircuitError;
}
