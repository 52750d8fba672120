import { PROTOCOL_LIMITS } from "@clawrelay/protocol";
import type { Meta } from "../storage/meta.js";

interface BreakerRecord {
  failures: number;
  openedAt: number | null;
}

/**
 * One circuit breaker per receipt destination (another relay), so an unreachable relay is not
 * hammered and does not slow receipts to others. Kept in storage: it must survive hibernation.
 */
export class DestinationBreakers {
  constructor(
    private readonly meta: Meta,
    private readonly openMs: number = PROTOCOL_LIMITS.breakerOpenMs,
  ) {}

  private read(): Record<string, BreakerRecord> {
    return this.meta.getJson<Record<string, BreakerRecord>>("receipt_breakers") ?? {};
  }

  /** May a receipt go to `destination` now? Open breakers let attempts through after `openMs` (30 s). */
  allows(destination: string, now: number): boolean {
    const record = this.read()[destination];
    return !record?.openedAt || now - record.openedAt >= this.openMs;
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
    const record = all[destination] ?? { failures: 0, openedAt: null };
    record.failures += 1;
    if (record.failures >= PROTOCOL_LIMITS.breakerFailureThreshold) record.openedAt = now;
    all[destination] = record;
    this.meta.setJson("receipt_breakers", all);
  }

  status(now: number): { destination: string; state: "closed" | "open" | "half_open"; consecutiveFailures: number }[] {
    return Object.entries(this.read()).map(([destination, r]) => ({
      destination,
      state: !r.openedAt ? "closed" : now - r.openedAt >= this.openMs ? "half_open" : "open",
      consecutiveFailures: r.failures,
    }));
  }
}
