import { PROTOCOL_LIMITS } from "@clawrelay/protocol";
import { afterFailure, type BreakerState, breakerState } from "../breaker-rule.js";
import type { Meta } from "../storage/meta.js";

/**
 * The relay → connector circuit breaker (PROTOCOL.md §5, the rule in breaker-rule.ts), kept in
 * storage, with the half-open probe that delivery needs on top.
 */
export class DeliveryBreaker {
  constructor(
    private readonly meta: Meta,
    private readonly threshold = PROTOCOL_LIMITS.breakerFailureThreshold,
    private readonly openMs = PROTOCOL_LIMITS.breakerOpenMs,
  ) {}

  get failures(): number {
    return this.meta.getNumber("breaker_failures", 0);
  }
  get openedAt(): number | null {
    const at = this.meta.get("breaker_opened_at");
    return at === null ? null : Number(at);
  }

  state(now: number): BreakerState {
    return breakerState(this.openedAt, now, this.openMs);
  }

  /** When a half-open probe may go out (for the alarm). */
  probeAt(): number | null {
    const opened = this.openedAt;
    return opened === null ? null : opened + this.openMs;
  }

  /**
   * May a batch be sent now? In half-open, only while no probe is in flight. A probe whose items
   * all left flight unanswered (its socket closed or was taken over, or they expired) can never
   * be answered, so with nothing in flight another one may go.
   */
  allows(now: number, inFlight: number): boolean {
    const state = this.state(now);
    if (state === "closed") return true;
    if (state === "open") return false;
    return this.meta.get("breaker_probe") !== "1" || inFlight === 0;
  }

  probing(now: number): void {
    if (this.state(now) === "half_open") this.meta.set("breaker_probe", "1");
  }

  /** The probe's socket went away before an answer: let the next half-open probe go out. */
  clearProbe(): void {
    if (this.meta.get("breaker_probe") === "1") this.meta.set("breaker_probe", null);
  }

  success(): BreakerState | null {
    const wasOpen = this.openedAt !== null;
    this.meta.set("breaker_failures", 0);
    this.meta.set("breaker_opened_at", null);
    this.meta.set("breaker_probe", null);
    return wasOpen ? "closed" : null;
  }

  /** A nack or an ack timeout. Returns "open" when this failure opened (or re-opened) it. */
  failure(now: number): BreakerState | null {
    const before = { failures: this.failures, openedAt: this.openedAt };
    const { count, opened } = afterFailure(before, now, this.openMs, this.threshold);
    this.meta.set("breaker_failures", count.failures);
    if (!opened) return null;
    this.meta.set("breaker_opened_at", count.openedAt);
    // A reopened breaker waits its full time again before the next probe.
    this.meta.set("breaker_probe", null);
    return "open";
  }

  status(now: number): { state: BreakerState; consecutiveFailures: number; openedAt: number | null } {
    return { state: this.state(now), consecutiveFailures: this.failures, openedAt: this.openedAt };
  }
}
