import { PROTOCOL_LIMITS } from "@clawrelay/protocol";

export type BreakerState = "closed" | "open" | "half_open";

/** What a breaker keeps in storage; its state follows from these and the clock. */
export interface BreakerCount {
  readonly failures: number;
  readonly openedAt: number | null;
}

/**
 * The one breaker rule of the session (PROTOCOL.md §5), for deliveries to the connector and for
 * receipts to each other relay. Half-open is computed from the opening time rather than set by
 * a timer, because timers do not survive hibernation.
 */
export function breakerState(
  openedAt: number | null,
  now: number,
  openMs: number = PROTOCOL_LIMITS.breakerOpenMs,
): BreakerState {
  if (openedAt === null) return "closed";
  return now - openedAt >= openMs ? "half_open" : "open";
}

/**
 * A failure: a failed half-open attempt reopens the breaker at once; `threshold` failures in a
 * row open a closed one; while open, failures (answers to what was already out) only count.
 * `opened` says whether this failure opened or reopened it.
 */
export function afterFailure(
  count: BreakerCount,
  now: number,
  openMs: number = PROTOCOL_LIMITS.breakerOpenMs,
  threshold: number = PROTOCOL_LIMITS.breakerFailureThreshold,
): { count: BreakerCount; opened: boolean } {
  const state = breakerState(count.openedAt, now, openMs);
  if (state === "half_open") return { count: { failures: count.failures, openedAt: now }, opened: true };
  const failures = count.failures + 1;
  if (state === "closed" && failures >= threshold) return { count: { failures, openedAt: now }, opened: true };
  return { count: { failures, openedAt: count.openedAt }, opened: false };
}
