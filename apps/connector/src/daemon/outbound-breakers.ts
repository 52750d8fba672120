import type { Logger } from "pino";
import { Breaker, type BreakerState } from "./breaker.js";
import type { Clock } from "./clock.js";
import type { ConnectorMetrics } from "./metrics.js";

/** At most this many relay origins get their own breaker; more are almost surely a misuse of `toRelay`. */
const MAX_BREAKERS = 256;

export interface RelayBreakersHost {
  config: { breakerFailures: number; breakerOpenMs: number };
  clock: Clock;
  logger: Logger;
  metrics?: ConnectorMetrics | undefined;
  /** Whether a send's error counts against its relay (an unavailable relay, not a refused message). */
  isFailure: (error: unknown) => boolean;
  /** A breaker closed: what waited for it may go right away. */
  closed: () => void;
}

/** The outbox's breaker per relay origin, made on first use; the oldest goes past MAX_BREAKERS. */
export class RelayBreakers {
  private readonly breakers = new Map<string, Breaker>();

  constructor(private readonly host: RelayBreakersHost) {}

  for(origin: string): Breaker {
    let breaker = this.breakers.get(origin);
    if (!breaker) {
      if (this.breakers.size >= MAX_BREAKERS) {
        const oldest = this.breakers.keys().next().value;
        if (oldest !== undefined) this.breakers.delete(oldest);
      }
      const { config, logger, metrics, clock } = this.host;
      breaker = new Breaker(
        origin,
        { failures: config.breakerFailures, openMs: config.breakerOpenMs, isFailure: this.host.isFailure },
        (state) => {
          logger.warn({ event: `outbound_breaker_${state}`, relayUrl: origin }, `relay breaker ${state}`);
          metrics?.breakerChanged(`relay ${origin}`, state, clock.now());
          if (state === "closed") queueMicrotask(() => this.host.closed());
        },
      );
      this.breakers.set(origin, breaker);
    }
    return breaker;
  }

  states(): Record<string, BreakerState> {
    const states: Record<string, BreakerState> = {};
    for (const [origin, breaker] of this.breakers) states[origin] = breaker.state();
    return states;
  }
}
