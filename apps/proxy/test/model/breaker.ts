import { PROTOCOL_LIMITS } from "@clawrelay/protocol";

/**
 * The reference model's delivery breaker (§5): `breakerFailureThreshold` failures in a row open
 * it; after `breakerOpenMs` it is half-open and lets one batch probe; an ack closes it.
 */
export class ModelBreaker {
  failures = 0;
  openedAt: number | null = null;
  /** A half-open probe batch is out. */
  probe = false;

  state(now: number): "closed" | "open" | "half_open" {
    if (this.openedAt === null) return "closed";
    return now - this.openedAt >= PROTOCOL_LIMITS.breakerOpenMs ? "half_open" : "open";
  }

  /** A nack or an ack timeout: a failed probe reopens it at once. */
  fail(now: number): void {
    const state = this.state(now);
    if (state === "half_open") {
      this.openedAt = now;
      this.probe = false;
      return;
    }
    this.failures++;
    if (state === "closed" && this.failures >= PROTOCOL_LIMITS.breakerFailureThreshold) this.openedAt = now;
  }

  /** An ack, or a new active connector taking over. */
  close(): void {
    this.failures = 0;
    this.openedAt = null;
    this.probe = false;
  }
}
