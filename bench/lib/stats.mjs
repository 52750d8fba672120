// Small statistics over latency samples (milliseconds) and throughput.

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function median(values) {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export function latencySummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

/**
 * Collects deliveries of one scenario: how many arrived, when the first and last did, and the
 * end-to-end latency of each (POST start → arrival, both read from this process's clock).
 */
export class DeliveryTally {
  latencies = [];
  count = 0;
  firstAt = null;
  lastAt = null;
  #waiters = [];
  #seen = new Set();
  duplicates = 0;

  /** Forget counts and latencies (after a warm-up) but keep the keys seen, so repeats stay repeats. */
  reset() {
    this.latencies = [];
    this.count = 0;
    this.firstAt = null;
    this.lastAt = null;
    this.duplicates = 0;
  }

  /**
   * One arrival; `key` deduplicates (at-least-once may repeat), `sentAt` is the POST start or
   * null, `now` when it arrived (this process's performance clock).
   */
  arrive(key, sentAt, now = performance.now()) {
    if (this.#seen.has(key)) {
      this.duplicates++;
      return;
    }
    this.#seen.add(key);
    this.count++;
    this.firstAt ??= now;
    this.lastAt = now;
    if (typeof sentAt === "number" && sentAt > 0) this.latencies.push(now - sentAt);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.count < w.target) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `target` distinct deliveries arrived; rejects after `timeoutMs` of no progress. */
  waitFor(target, timeoutMs, what) {
    if (this.count >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let lastCount = this.count;
      const timer = setInterval(() => {
        if (this.count === lastCount) {
          clearInterval(timer);
          reject(new Error(`${what}: stalled at ${this.count}/${target} for ${timeoutMs} ms`));
        }
        lastCount = this.count;
      }, timeoutMs);
      this.#waiters.push({
        target,
        resolve: () => {
          clearInterval(timer);
          resolve();
        },
      });
    });
  }

  /** How many of `target` deliveries never came: 0 once all arrived, else what was missing when `waitFor` gave up. */
  async lostOf(target, timeoutMs, what) {
    try {
      await this.waitFor(target, timeoutMs, what);
      return 0;
    } catch {
      return target - this.count;
    }
  }
}

export function round(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
