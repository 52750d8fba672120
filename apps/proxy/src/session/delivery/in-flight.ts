import type { Sql } from "../../platform/sql.js";
import type { Outcomes } from "../queue/outcomes.js";

/**
 * How many items are in flight, kept by delivery instead of counted on every pump. Read from
 * SQLite when unknown (a new session object, after a requeue of many rows at once); otherwise
 * changed with each write that moves items into or out of flight: delivery's own (`moved`), and
 * those of outcomes, which counts the in-flight items it finishes (an expiry, a dead letter).
 */
export class InFlightCount {
  private count: number | null = null;
  private finishedSeen = 0;

  constructor(
    private readonly sql: Sql,
    private readonly outcomes: Pick<Outcomes, "finishedInFlight">,
  ) {}

  value(): number {
    const finished = this.outcomes.finishedInFlight;
    if (this.count === null) this.count = this.sql.scalar("SELECT COUNT(*) FROM items WHERE state = 'inflight'");
    else this.count -= finished - this.finishedSeen;
    this.finishedSeen = finished;
    return this.count;
  }

  /** `items` went into (+) or out of (−) flight by a write of delivery's own, just made. */
  moved(items: number): void {
    if (this.count !== null) this.count += items;
  }

  /** Many rows changed at once: count them again on next use. */
  recount(): void {
    this.count = null;
  }
}
