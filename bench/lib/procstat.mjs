// CPU and memory of the processes under test, read from /proc (Linux only, like the CI machine).
// CPU: utime + stime from /proc/<pid>/stat; peak memory: VmHWM from /proc/<pid>/status, reset
// per scenario through /proc/<pid>/clear_refs ("5" resets the high-water mark to current RSS).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // getconf missing: Linux's USER_HZ is 100 on every common build
}

function statFields(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: split after its last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    state: rest[0],
    ppid: Number(rest[1]),
    utime: Number(rest[11]),
    stime: Number(rest[12]),
    startTime: Number(rest[19]),
  };
}

/** CPU seconds (user + system) a live process has used; null when it is gone. */
export function cpuSeconds(pid) {
  try {
    const { utime, stime } = statFields(pid);
    return (utime + stime) / ticksPerSecond;
  } catch {
    return null;
  }
}

/**
 * CPU seconds a process tree used over a stretch of time, counted by sampling: every process
 * seen under `root` keeps its last sampled user + system time (keyed by pid and start time, so
 * a reused pid is another process). Reading the tree's totals once at each end (utime + stime +
 * cutime + cstime) misses the processes that were orphaned before they exited: stopping wrangler
 * dev ends its process group, wrangler's node exits first, and workerd — the busiest process of
 * the run — is reparented to init and reaped there, so its CPU showed up as "other processes".
 * Lost here: a process's last interval before it exits, and processes that lived less than one
 * interval (a `free`, a `git`, the report tests the runner waits for).
 */
export class TreeMeter {
  #root;
  #first = new Map();
  #last = new Map();
  #timer = null;

  constructor(root = process.pid) {
    this.#root = root;
  }

  sample(isFirst = false) {
    for (const pid of processTree(this.#root)) {
      try {
        const f = statFields(pid);
        const key = `${pid}:${f.startTime}`;
        const seconds = (f.utime + f.stime) / ticksPerSecond;
        // Alive at the start: only what it used from now on counts.
        if (!this.#first.has(key)) this.#first.set(key, isFirst ? seconds : 0);
        this.#last.set(key, seconds);
      } catch {
        // exited while we looked
      }
    }
  }

  start(intervalMs = 1000) {
    this.sample(true);
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
    return this;
  }

  /** CPU seconds the tree used since start (call again for a later total). */
  stop() {
    clearInterval(this.#timer);
    this.sample();
    let total = 0;
    for (const [key, last] of this.#last) total += last - this.#first.get(key);
    return total;
  }
}

/** CPU seconds the whole machine spent busy (all cores), from the first line of /proc/stat. */
export function machineBusySeconds() {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
  } catch {
    return null;
  }
}

function statusKb(pid, field) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : null;
  } catch {
    return null;
  }
}

/** Peak resident memory (VmHWM) in MiB since start or the last resetPeak. */
export function peakMiB(pid) {
  const kb = statusKb(pid, "VmHWM");
  return kb === null ? null : kb / 1024;
}

export function rssMiB(pid) {
  const kb = statusKb(pid, "VmRSS");
  return kb === null ? null : kb / 1024;
}

export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export function processName(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** `pid` and every live descendant (wrangler's node process and the workerd it runs). */
export function processTree(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { ppid } = statFields(entry);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  const out = [];
  const walk = (p) => {
    out.push(p);
    for (const child of children.get(p) ?? []) walk(child);
  };
  walk(pid);
  return out;
}

/**
 * Watches named processes over one scenario: CPU seconds used and peak memory (VmHWM, reset at
 * the start, unless the target says `keepPeak: true`: then its peak since the process started).
 * `targets` is a list of { label, pids: () => number[], keepPeak? } so a connector restarted
 * mid-scenario (failover) is still followed; CPU of a process that died mid-way is counted up to
 * its last sample.
 */
export class ProcessMeter {
  #targets;
  #start = new Map();
  #last = new Map();
  #peak = new Map();
  #timer = null;
  #startedAt = 0;

  constructor(targets) {
    this.#targets = targets;
  }

  #sample() {
    for (const target of this.#targets) {
      for (const pid of target.pids()) {
        const key = `${target.label}:${pid}`;
        const cpu = cpuSeconds(pid);
        if (cpu === null) continue;
        if (!this.#start.has(key)) {
          this.#start.set(key, this.#startedAt === 0 ? cpu : 0);
          if (!target.keepPeak) resetPeak(pid);
        }
        this.#last.set(key, cpu);
        const peak = peakMiB(pid);
        if (peak !== null) this.#peak.set(key, Math.max(this.#peak.get(key) ?? 0, peak));
      }
    }
  }

  start() {
    this.#startedAt = 0;
    this.#sample();
    this.#startedAt = performance.now();
    this.#timer = setInterval(() => this.#sample(), 250);
    this.#timer.unref();
    return this;
  }

  /** { label: { cpuSeconds, cpuPercent (of one core), peakMiB } } over the scenario. */
  stop() {
    this.#sample();
    clearInterval(this.#timer);
    const wallSeconds = (performance.now() - this.#startedAt) / 1000;
    const result = {};
    for (const target of this.#targets) {
      let cpu = 0;
      let peak = 0;
      for (const [key, last] of this.#last) {
        if (!key.startsWith(`${target.label}:`)) continue;
        cpu += last - (this.#start.get(key) ?? 0);
        peak = Math.max(peak, this.#peak.get(key) ?? 0);
      }
      result[target.label] = {
        cpuSeconds: cpu,
        cpuPercent: wallSeconds > 0 ? (100 * cpu) / wallSeconds : 0,
        peakMiB: peak,
      };
    }
    return { wallSeconds, processes: result };
  }
}
