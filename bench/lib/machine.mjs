// The machine a run happened on, for BENCHMARKS.md: cores, CPU model, memory, versions, load.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/relay.mjs";
import { machineBusySeconds, TreeMeter } from "./procstat.mjs";

function run(command, args) {
  try {
    return execFileSync(command, args, { encoding: "utf8", cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

/** 1-, 5- and 15-minute load averages, from /proc/loadavg. */
export function loadAverage() {
  try {
    const [one, five, fifteen] = readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
    return { one, five, fifteen };
  } catch {
    return null;
  }
}

export function machineInfo() {
  const cpuModel =
    run("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).trim() || run("uname", ["-m"]);
  const wranglerPackage = JSON.parse(readFileSync(join(ROOT, "node_modules/wrangler/package.json"), "utf8"));
  return {
    nproc: run("nproc", []),
    cpuModel,
    freeMiB: run("free", ["-m"]),
    node: process.version,
    wrangler: wranglerPackage.version,
    kernel: run("uname", ["-sr"]),
    uptime: run("uptime", []),
  };
}

/**
 * How much of the machine others used while the bench ran: all busy CPU time (/proc/stat) minus
 * this run's own process tree, averaged over the wall time, in cores. On a quiet machine ≈ 0.
 */
export class LoadWatch {
  #start = null;

  start() {
    this.#start = { at: performance.now(), busy: machineBusySeconds(), ownTree: new TreeMeter().start() };
    return this;
  }

  stop() {
    const wallSeconds = (performance.now() - this.#start.at) / 1000;
    const busy = machineBusySeconds();
    const own = this.#start.ownTree.stop();
    const all = busy === null || this.#start.busy === null ? null : busy - this.#start.busy;
    return {
      wallSeconds,
      ownCores: own / wallSeconds,
      otherCores: all === null ? null : Math.max(0, all - own) / wallSeconds,
    };
  }
}
