import { type Clock, fullJitterDelay, type Random, type TimerHandle } from "./clock.js";

export interface ReconnectTiming {
  reconnectMinMs: number;
  reconnectMaxMs: number;
  reconnectResetAfterMs: number;
  reconnectFastMaxMs: number;
  reconnectFastWindowMs: number;
  reconnectFlapSessions: number;
}

/**
 * Which relay URL to try next and how long to wait: URLs in configured order, moving on after a
 * failed attempt and back to the first after a session ends; full-jitter backoff from
 * `reconnectMinMs` to `reconnectMaxMs` whose exponent resets once a session lasted
 * `reconnectResetAfterMs` (PROTOCOL.md §8).
 *
 * Restart window: "back within 5 s of a relay that restarted". An ever-growing backoff would
 * find a relay that was down for 20 s only 25–29 s later, so for `reconnectFastWindowMs` after an
 * established session ends every draw stays under `reconnectFastMaxMs` (full jitter still):
 * a relay listening again is reached within that cap plus one handshake. A relay that flaps
 * (accepts, then drops the session at once) must not be hammered: after a run of
 * `reconnectFlapSessions` sessions each shorter than `reconnectResetAfterMs`, a session end
 * opens no window until a session lasts; so a flapping relay gets one window (its run of
 * short sessions plus 2 min) and then the ordinary backoff.
 *
 * Cost of a long outage at the defaults (0.5 s–30 s, 2 s for 2 min), with refused connects:
 * the window makes about 3 + 118 / 1 s ≈ 121 attempts (mean draw 1 s); after it the exponent is
 * past the cap, so draws average 15 s: 4 a minute. The first hour is ≈ 121 + 58 × 4 ≈ 353
 * attempts (the backoff alone: ≈ 245), every further hour 240.
 */
export class ReconnectPolicy {
  private urlIndex = 0;
  private failures = 0;
  private fastUntil = Number.NEGATIVE_INFINITY;
  private shortSessions = 0;

  constructor(
    private readonly relayUrls: readonly string[],
    private readonly timing: ReconnectTiming,
    private readonly clock: Clock,
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
    if (connectedForMs >= this.timing.reconnectResetAfterMs) {
      this.failures = 0;
      this.shortSessions = 0;
    } else {
      this.shortSessions++;
    }
    if (this.shortSessions < this.timing.reconnectFlapSessions) {
      this.fastUntil = this.clock.now() + this.timing.reconnectFastWindowMs;
    }
    this.urlIndex = 0;
  }

  /** An attempt failed before the session was established: the next URL gets its turn. */
  attemptFailed(): void {
    this.urlIndex = (this.urlIndex + 1) % this.relayUrls.length;
  }

  /** The wait before the next attempt; each call counts one more failure. */
  nextDelay(): { delayMs: number; attempt: number; restartWindow: boolean } {
    const attempt = this.failures;
    this.failures++;
    const restartWindow = this.clock.now() < this.fastUntil;
    const capMs = restartWindow
      ? Math.min(this.timing.reconnectMaxMs, this.timing.reconnectFastMaxMs)
      : this.timing.reconnectMaxMs;
    return {
      delayMs: fullJitterDelay(attempt, this.timing.reconnectMinMs, capMs, this.random),
      attempt,
      restartWindow,
    };
  }
}

/**
 * Text `ping` every interval; `onTimeout` when no `pong` arrived for `timeoutMs`.
 *
 * A paused process (SIGSTOP, a machine asleep) runs its overdue timers before it reads the
 * socket, so the watchdog would fire before a pong already waiting in the socket buffer is
 * seen. A watchdog that fires more than one ping interval late therefore judges nothing: it
 * pings and waits one more interval, and a socket that died meanwhile still ends on that
 * shorter timeout.
 */
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
    this.armWatchdog(this.timing.pongTimeoutMs);
  }

  stop(): void {
    this.pingTimer?.cancel();
    this.watchdog?.cancel();
    this.pingTimer = null;
    this.watchdog = null;
  }

  private armWatchdog(delayMs: number): void {
    this.watchdog?.cancel();
    const dueAt = this.clock.now() + delayMs;
    this.watchdog = this.clock.setTimeout(() => {
      if (this.clock.now() - dueAt > this.timing.pingIntervalMs) {
        this.sendPing();
        this.armWatchdog(this.timing.pingIntervalMs);
        return;
      }
      this.stop();
      this.onTimeout();
    }, delayMs);
  }

  private schedulePing(): void {
    this.pingTimer = this.clock.setTimeout(() => {
      this.sendPing();
      this.schedulePing();
    }, this.timing.pingIntervalMs);
  }
}
