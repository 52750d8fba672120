// Small helpers of the chaos harness: a seeded random source, log-line waits on connector
// processes, reading a process's scheduler state, deadlines and send pacing.
import { readFileSync } from "node:fs";

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with --seed. */
export function seededRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

/**
 * Fan a connector's log lines out to any number of listeners (ConnectorProcess has one
 * `onLog` slot). Returns `{ until(match, timeoutMs, what) }`: resolves with the first parsed
 * line after the call for which `match(line)` is true.
 */
export function logTap(connector) {
  const listeners = new Set();
  connector.onLog = (text) => {
    let line;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    for (const listener of listeners) listener(line);
  };
  return {
    /** Count matching lines from now on; `count()` reads the tally, `stop()` detaches. */
    counter(match) {
      let n = 0;
      const listener = (line) => {
        if (match(line)) n++;
      };
      listeners.add(listener);
      return { count: () => n, stop: () => listeners.delete(listener) };
    },
    until(match, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const listener = (line) => {
          if (!match(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        listeners.add(listener);
      });
    },
  };
}

/** The one-letter scheduler state of a Linux process (`T` once it is stopped), or null if gone. */
export function processState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * Pacing between the sends of a burst, so that a burst is still under way when a fault strikes.
 * It shapes traffic; no check of the harness ever waits on it.
 */
export function pace(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`, or a rejection naming `what` once `ms` have passed: no wait of the harness is unbounded. */
export async function within(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
