// BENCHMARKS.md's "OpenClaw bridge" section: the figures of the last
// `node bench/scenarios/openclaw-bridge.mjs` run, kept in bench/openclaw-bridge.json. It boots
// real OpenClaw gateways (~1 GB each), so it is not part of `pnpm bench`; its figures are carried
// over from run to run with the date and load they were measured at.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/relay.mjs";
import { round } from "./stats.mjs";

export const BRIDGE_RESULTS_FILE = join(ROOT, "bench/openclaw-bridge.json");

const MODES = {
  turn: "`waitForCompletion: true` (the default: the answer comes after the agent's turn)",
  admit: "`waitForCompletion: false` (the gateway answers once the run is admitted)",
};

const ms = (value) => (value === null || value === undefined ? "–" : `${round(value)}`);
const load = (l) => (l ? `${l.one} / ${l.five} / ${l.fifteen}` : "unknown");

export function bridgeSection(file = BRIDGE_RESULTS_FILE) {
  if (!existsSync(file)) return "Not measured yet: `node bench/scenarios/openclaw-bridge.mjs`.";
  const report = JSON.parse(readFileSync(file, "utf8"));
  const rows = Object.entries(report.results).map(
    ([mode, r]) =>
      `| ${MODES[mode] ?? mode} | ${r.bridge.count} | ${ms(r.bridge.p50)} | ${ms(r.bridge.p99)} | ${ms(r.total.p50)} | ${ms(r.model.p50)} | ${ms(r.warmUpMs)} |`,
  );
  return [
    "The latency the bridge adds: from bob's connector having the item in its inbox to the answer of a real OpenClaw gateway's `POST /hooks/agent`, the stand-in model's own time taken out; messages one at a time, after one warm-up message. " +
      `Measured by \`node bench/scenarios/openclaw-bridge.mjs\` (not part of \`pnpm bench\`) on ${report.date}: ${report.machine.nproc} cores, ${report.machine.cpuModel}, Node ${report.machine.node} for the connector, OpenClaw on Node 24; load average before ${load(report.loadBefore)}, after ${load(report.loadAfter)}.`,
    "",
    "| answer | messages | bridge p50 ms | bridge p99 ms | total p50 ms | model p50 ms | first turn of a fresh gateway ms |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
