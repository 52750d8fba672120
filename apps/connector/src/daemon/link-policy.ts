import { type Clock, fullJitterDelay, type Random, type TimerHandle } from "./clock.js";

/**
 * Which relay URL to try next and how long to wait: URLs in configured order,
 * moving on after a failed attempt and back to the first after a session ends;
 * full-jitter backoff whose exponent resets once a session lasted long enough.
 */
export class ReconnectPolicy {
  private urlIndex = 0;
  private failures = 0;

  constructor(
    private readonly relayUrls: readonly string[],
    private readonly timing: { reconnectMinMs: number; reconnectMaxMs: number; reconnectResetAfterMs: number },
    private readonly random: Random,
  ) {
    if (relayUrls.length === 0) throw new Error("at least one relay URL is required");
  }

  get relayUrl(): string {
    return this.relayUrls[this.urlIndex] as string;
  }

  get attempt(): number {
    return this.failures;
  }

  /** A connected session ended after `connectedForMs`. */
  sessionEnded(connectedForMs: number): void {
    if (connectedForMs >= this.timing.reconnectResetAfterMs) this.failures = 0;
    this.urlIndex = 0;
  }

  /** An attempt failed before the session was established: the next URL gets its turn. */
  attemptFailed(): void {
    this.urlIndex = (this.urlIndex + 1) % this.relayUrls.length;
  }

  /** The wait before the next attempt; each call counts one more failure. */
  nextDelay(): { delayMs: number; attempt: number } {
    const attempt = this.failures;
    this.failures++;
    return {
      delayMs: fullJitterDelay(attempt, this.timing.reconnectMinMs, this.timing.reconnectMaxMs, this.random),
      attempt,
    };
  }
}

/** Text `ping` every interval; `onTimeout` when no `pong` arrived for `timeoutMs`. */
export class Heartbeat {
  private pingTimer: TimerHandle | null = null;
  private watchdog: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly timing: { pingIntervalMs: number; pongTimeoutMs: number },
    private readonly sendPing: () => void,
    private readonly onTimeout: () => void,
  ) {}

  start(): void {
    this.schedulePing();
    this.pong();
  }

  pong(): void {
    this.watchdog?.cancel();
    this.watchdog = this.clock.setTimeout(() => {
      this.stop();
      this.onTimeout();
    }, this.timing.pongTimeoutMs);
  }

  stop(): void {
    this.pingTimer?.cancel();
    this.watchdog?.cancel();
    this.pingTimer = null;
    this.watchdog = null;
  }

  private schedulePing(): void {
    this.pingTimer = this.clock.setTimeout(() => {
      this.sendPing();
      this.schedulePing();
    }, this.timing.pingIntervalMs);
  }
}
