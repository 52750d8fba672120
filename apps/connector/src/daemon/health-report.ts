import { type ConnectorHealth, type HealthFrame, healthSubstance, PROTOCOL_LIMITS } from "@clawrelay/protocol";
import type { Clock, TimerHandle } from "./clock.js";
import type { InboundStatus } from "./inbound.js";
import type { Store } from "./store.js";

/** This connector's version, as the health frame reports it (kept equal to package.json by a test). */
export const CONNECTOR_VERSION = "0.1.0";
/** A health frame goes at most this often, besides the one after each `reconnect_ack` (PROTOCOL.md §6). */
export const HEALTH_MIN_INTERVAL_MS = PROTOCOL_LIMITS.healthMinIntervalMs;
/** The relay keeps at most this much of `hook.lastError` (the frame schema's bound). */
const MAX_ERROR_CHARS = 200;

/** The connector's own state for the relay, from the hook worker's status and the store's counts. */
export function readHealth(inbound: InboundStatus, store: Store, tokenExpiresAt: number | null): ConnectorHealth {
  const counts = store.counts();
  const oldest = store.oldestPending();
  // A held hook (it refused our token) delivers nothing until a restart: to the relay that is an
  // open breaker, with the hold's reason as the error.
  const lastError = inbound.held?.reason ?? inbound.lastError?.reason;
  return {
    hook: {
      breaker: inbound.held ? "open" : inbound.breaker,
      ...(lastError !== undefined ? { lastError: lastError.slice(0, MAX_ERROR_CHARS) } : {}),
      ...(inbound.lastSuccessAt !== null ? { lastSuccessAt: inbound.lastSuccessAt } : {}),
    },
    inbox: { pending: counts.inboxPending, oldestAt: oldest.inboxPendingAt, deadLetters: counts.deadLetters },
    outbox: { pending: counts.outbox.queued + counts.outbox.sending, oldestAt: oldest.outboxQueuedAt },
    tokenExpiresAt,
    version: CONNECTOR_VERSION,
  };
}

export interface HealthReporterOptions {
  clock: Clock;
  read: () => ConnectorHealth;
  /** Send on the live link; false when there is none. */
  send: (frame: HealthFrame) => boolean;
}

/**
 * Sends the §6 `health` frame: after every `reconnect_ack`, then whenever something but the times
 * changed, at most every HEALTH_MIN_INTERVAL_MS. It looks for changes on that same period while
 * the link is up, so a busy inbox costs one frame per period, and a quiet one none.
 */
export class HealthReporter {
  private sent: string | null = null;
  private timer: TimerHandle | null = null;

  constructor(private readonly options: HealthReporterOptions) {}

  /** The link got its `reconnect_ack`: report now, whatever was reported on the previous socket. */
  connected(): void {
    this.timer?.cancel();
    this.sent = null;
    this.check();
  }

  /** The link went down: nothing to report to until the next `reconnect_ack`. */
  disconnected(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private check(): void {
    this.timer = null;
    const health = this.options.read();
    const key = healthSubstance(health);
    if (key !== this.sent) {
      if (!this.options.send({ type: "health", ...health })) return;
      this.sent = key;
    }
    this.timer = this.options.clock.setTimeout(() => this.check(), HEALTH_MIN_INTERVAL_MS);
  }
}
