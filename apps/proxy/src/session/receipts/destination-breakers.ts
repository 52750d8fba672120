import { PROTOCOL_LIMITS } from "@clawrelay/protocol";
import { afterFailure, type BreakerCount, breakerState } from "../breaker-rule.js";
import type { Meta } from "../storage/meta.js";

/**
 * One circuit breaker per receipt destination (another relay), so an unreachable relay is not
 * hammered and does not slow receipts to others. Kept in storage: it must survive hibernation.
 */
export class DestinationBreakers {
  constructor(
    private readonly meta: Meta,
    private readonly openMs: number = PROTOCOL_LIMITS.breakerOpenMs,
  ) {}

  private read(): Record<string, BreakerCount> {
    return this.meta.getJson<Record<string, BreakerCount>>("receipt_breakers") ?? {};
  }

  /** May a receipt go to `destination` now? Open breakers let attempts through after `openMs` (30 s). */
  allows(destination: string, now: number): boolean {
    return breakerState(this.read()[destination]?.openedAt ?? null, now, this.openMs) !== "open";
  }

  /** When an open breaker next lets an attempt through. */
  retryAt(destination: string): number | null {
    const record = this.read()[destination];
    return record?.openedAt ? record.openedAt + this.openMs : null;
  }

  success(destination: string): void {
    const all = this.read();
    if (!all[destination]) return;
    delete all[destination];
    this.meta.setJson("receipt_breakers", all);
  }

  failure(destination: string, now: number): void {
    const all = this.read();
    all[destination] = afterFailure(all[destination] ?? { failures: 0, openedAt: null }, now, this.openMs).count;
    this.meta.setJson("receipt_breakers", all);
  }

  status(now: number): { destination: string; state: "closed" | "open" | "half_open"; consecutiveFailures: number }[] {
    return Object.entries(this.read()).map(([destination, r]) => ({
      destination,
      state: breakerState(r.openedAt, now, this.openMs),
      consecutiveFailures: r.failures,
    }));
  }
}
