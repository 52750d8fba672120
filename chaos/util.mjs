// Small helpers of the chaos harness: a seeded random source, log-line waits on connector
// processes, reading a process's scheduler state, when a port accepts connections, deadlines
// and send pacing.
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { waitUntil } from "../scripts/lib/connector.mjs";

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
    /** Keep every matching line from now on with the moment it arrived: `lines()` reads them, `stop()` detaches. */
    recorder(match) {
      const kept = [];
      const listener = (line) => {
        if (match(line)) kept.push({ at: Date.now(), line });
      };
      listeners.add(listener);
      return { lines: () => kept, stop: () => listeners.delete(listener) };
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

/** Resolves once the connector process is stopped (SIGSTOP took effect). */
export async function waitForStopped(connector, what) {
  const pid = connector.pid;
  await waitUntil(() => processState(pid) === "T", 10_000, `${what} (pid ${pid}) to be stopped`, 20);
}

/**
 * The moment a TCP connect to 127.0.0.1:`port` first succeeds, trying every 10 ms until
 * `timeoutMs`: when a restarted relay listens again, as a client sees it.
 */
export async function firstAccept(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await new Promise((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(Date.now());
      });
      socket.once("error", () => resolve(null));
    });
    if (at !== null) return at;
    if (Date.now() > deadline) throw new Error(`port ${port} accepted no connection within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The moment `url` first answers 2xx, asking every 10 ms (each request may be held open until
 * the server is ready) until `timeoutMs`: when a restarted relay serves requests again.
 */
export async function firstAnswer(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
      await res.arrayBuffer();
      if (res.ok) return Date.now();
    } catch {
      // not listening yet, or not answering yet
    }
    if (Date.now() > deadline) throw new Error(`${url} answered nothing within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
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
