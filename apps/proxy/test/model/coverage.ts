/**
 * What the random runs actually reached, so a model test that silently stopped exercising a rule
 * (a generator change, a config change) fails instead of passing vacuously.
 */
export type CoverageEvent =
  | "queued"
  | "duplicate"
  | "sender_blocked"
  | "idempotency_key_reused"
  | "rate_limited"
  | "queue_full"
  | "shed"
  | "delivered"
  | "acked"
  | "nacked"
  | "ack_timeout"
  | "redelivered"
  | "expired"
  | "expired_in_flight"
  | "breaker_open"
  | "breaker_probe"
  | "dead_lettered"
  | "resync"
  | "lost_ack_recovered"
  | "replaced"
  | "handed_over"
  | "record_swept"
  /** A send at a full queue shed an item of its own sender (the share is judged after that, §5). */
  | "shed_own"
  /** A silent active connector failed over to the standby (§6, RELAY_FAILOVER_AFTER_MS). */
  | "failed_over"
  /** A silent active connector with no standby closed as stale (RELAY_STALE_AFTER_MS). */
  | "closed_stale"
  /** A standby promoted when the active connector went away. */
  | "promoted"
  /** A delivered item carried §4 conversation fields. */
  | "conversation";

export class Coverage {
  readonly runs = new Map<CoverageEvent, number>();
  private current = new Set<CoverageEvent>();

  note(event: CoverageEvent): void {
    this.current.add(event);
  }

  /** Count each event once per run. */
  endRun(): void {
    for (const event of this.current) this.runs.set(event, (this.runs.get(event) ?? 0) + 1);
    this.current = new Set();
  }

  missing(required: readonly CoverageEvent[]): CoverageEvent[] {
    return required.filter((event) => !this.runs.get(event));
  }

  summary(): string {
    return [...this.runs.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([event, runs]) => `${event}=${runs}`)
      .join(" ");
  }
}
