/** Time and randomness are injected everywhere so backoff, heartbeats and retries are testable. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    // A pending retry must never keep the process alive on its own; the server and socket do that.
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

export type Random = () => number;

/**
 * Full-jitter backoff: a uniform draw in [0, min(cap, base * 2^attempt)].
 * `attempt` counts from 0 for the first retry.
 */
export function fullJitterDelay(attempt: number, baseMs: number, capMs: number, random: Random): number {
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const ceiling = Math.min(capMs, baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` as sent by the relay or a hook: delta seconds or an HTTP date.
 * Returns milliseconds from `now`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
