#!/usr/bin/env node
// `pnpm bench`: the baseline Worker and clawrelay side by side under `wrangler dev`, every
// scenario of issue 7, then BENCHMARKS.md. `pnpm bench --quick`: the same code paths with small
// sizes (CI's smoke check), report under test-artifacts/bench/. Exits non-zero when a scenario
// broke (lost messages, refused sends, a stall), and a full run also when a target is not met;
// `--quick` reports the targets and never fails on them (CI machines are noisy). Every run first
// runs the unit tests of the bench's arithmetic (bench/test, node --test).
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { freePort } from "../scripts/lib/connector.mjs";
import { ROOT } from "../scripts/lib/relay.mjs";
import { BaselineSide } from "./lib/baseline-side.mjs";
import { ClawrelaySide } from "./lib/clawrelay-side.mjs";
import { installCleanup } from "./lib/cleanup.mjs";
import { LoadWatch, loadAverage, machineInfo } from "./lib/machine.mjs";
import { parseOptions } from "./lib/options.mjs";
import { renderReport } from "./lib/report.mjs";
import { checkTargets, verdict } from "./lib/targets.mjs";
import { runBacklog } from "./scenarios/backlog.mjs";
import { runCost } from "./scenarios/cost.mjs";
import { runFailover } from "./scenarios/failover.mjs";
import { runHookRecovery } from "./scenarios/hook-recovery.mjs";
import { runLive } from "./scenarios/live.mjs";
import { runProfile } from "./scenarios/profile.mjs";
import { runRelayRestart } from "./scenarios/relay-restart.mjs";
import { runSleepFailover } from "./scenarios/sleep-failover.mjs";

const LIVE = {
  seq1: { senderCount: 1, agentCount: 1 },
  c32x1: { senderCount: 32, agentCount: 1 },
  c32x32: { senderCount: 32, agentCount: 32 },
};

const progress = (text) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const short = (value) => (value === null || value === undefined ? "–" : value.toFixed(1));

/** Write (or print) the report of `results`; with --from, that is all a run does. */
function writeReport(options, results) {
  const report = renderReport(results);
  if (options.write) {
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, report);
    // In the repository the report is linted like the rest (biome pads Markdown tables).
    if (!options.out.startsWith(options.artifacts)) {
      spawnSync(join(ROOT, "node_modules/.bin/biome"), ["format", "--write", options.out], { stdio: "ignore" });
    }
    progress(`report written to ${options.out}`);
  } else process.stdout.write(report);
}

async function main() {
  installCleanup();
  const options = parseOptions(process.argv.slice(2));
  if (options.from) {
    const saved = JSON.parse(readFileSync(options.from, "utf8"));
    if (saved.quick && !options.quick) options.out = join(options.artifacts, "BENCHMARKS.quick.md");
    writeReport(options, saved);
    return;
  }
  const { sizes, only } = options;
  const started = performance.now();
  const results = {
    startedAt: new Date().toISOString(),
    quick: options.quick,
    machine: machineInfo(),
    loadBefore: loadAverage(),
    live: {},
    cost: null,
    backlog: {},
    failover: null,
    sleepFailover: null,
    hookRecovery: null,
    relayRestart: null,
    memory: null,
    profile: null,
    logs: null,
    problems: [],
  };
  const watchdog = setTimeout(() => {
    progress(`watchdog: the run exceeded ${sizes.watchdogMs / 60_000} min; stopping everything`);
    // Keep what was measured: `pnpm bench --from <file>` renders it.
    const partial = join(options.artifacts, "results.partial.json");
    mkdirSync(options.artifacts, { recursive: true });
    writeFileSync(
      partial,
      `${JSON.stringify({ ...results, problems: [...results.problems, "watchdog: the run was stopped"] }, null, 2)}\n`,
    );
    progress(`what was measured is in ${partial}`);
    process.exit(2);
  }, sizes.watchdogMs);
  watchdog.unref();
  // The report's arithmetic (CPU per message, cost, target verdicts) is tested before it is used.
  const testDir = join(ROOT, "bench/test");
  const testFiles = readdirSync(testDir)
    .filter((f) => f.endsWith(".test.mjs"))
    .map((f) => join(testDir, f));
  const tested = spawnSync(process.execPath, ["--test", ...testFiles], { stdio: "inherit" });
  if (tested.status !== 0) throw new Error("the bench's unit tests failed (node --test bench/test)");

  // The connector must be the one in this tree, not a stale build.
  const built = spawnSync(process.execPath, [join(ROOT, "apps/connector/build.mjs")], { stdio: "inherit" });
  if (built.status !== 0) throw new Error("building the connector failed");
  // From here on: the two runs (unit tests and build above ran in processes it could not sample).
  const loadWatch = new LoadWatch().start();

  const needsBaseline = ["seq1", "c32x1", "c32x32", "backlog"].some((s) => only.has(s));
  progress(`starting wrangler dev: ${needsBaseline ? "baseline and " : ""}clawrelay`);
  const [baseline, clawrelay] = await Promise.all([
    needsBaseline ? BaselineSide.start() : null,
    freePort().then((inspectorPort) => ClawrelaySide.start({ inspectorPort })),
  ]);
  const sides = [baseline, clawrelay].filter(Boolean);

  const attempt = async (label, body) => {
    progress(`${label} …`);
    try {
      const result = await body();
      results.problems.push(...(result?.problems ?? []));
      return result;
    } catch (error) {
      results.problems.push(`${label}: ${error.message}`);
      progress(`${label} FAILED: ${error.message}`);
      return null;
    }
  };

  try {
    for (const [key, shape] of Object.entries(LIVE)) {
      if (!only.has(key)) continue;
      results.live[key] = {};
      for (const side of sides) {
        const r = await attempt(`${key} ${side.name}`, () => runLive(side, { key, ...shape, total: sizes[key] }));
        if (!r) continue;
        results.live[key][side.name] = r;
        progress(
          `${key} ${side.name}: ${short(r.msgsPerSecond)} msg/s, p50 ${short(r.latencyMs.p50)} p99 ${short(r.latencyMs.p99)} ms`,
        );
      }
    }
    if (only.has("cost")) {
      const shapes = Object.fromEntries(Object.entries(LIVE).filter(([key]) => only.has(key)));
      results.cost = await attempt("cost (frames counted through a proxy)", () =>
        runCost(clawrelay, { shapes: Object.keys(shapes).length > 0 ? shapes : LIVE, total: sizes.costMessages }),
      );
    }
    if (only.has("backlog")) {
      for (const count of sizes.backlogSizes) {
        results.backlog[count] = {};
        for (const side of sides) {
          const key = `backlog${count}`;
          const r = await attempt(`${key} ${side.name}`, () => runBacklog(side, { key, count }));
          if (!r) continue;
          results.backlog[count][side.name] = r;
          const hookStage = r.hookMsgsPerSecond
            ? `, then to the webhook at ${short(r.hookMsgsPerSecond)} msg/s; connector peak ${short(r.connectorPeakMiB)} MiB`
            : "";
          progress(
            `${key} ${side.name}: built in ${short(r.buildSeconds)} s, drained at ${short(r.msgsPerSecond)} msg/s${hookStage}`,
          );
        }
      }
      // The largest backlog fills the connector's inbox: that is the connector-memory measurement.
      const largest = results.backlog[sizes.backlogSizes[sizes.backlogSizes.length - 1]]?.clawrelay;
      if (largest) {
        results.memory = {
          messages: largest.messages,
          inboxPending: largest.inboxPending,
          connectorPeakMiB: largest.connectorPeakMiB,
        };
      }
    }
    if (only.has("failover")) {
      results.failover = await attempt("failover", () => runFailover(clawrelay, { rounds: sizes.failoverRounds }));
      if (results.failover) progress(`failover: median ${short(results.failover.medianMs)} ms`);
    }
    if (only.has("sleep_failover")) {
      results.sleepFailover = await attempt("sleep failover", () =>
        runSleepFailover(clawrelay, { rounds: sizes.sleepFailoverRounds }),
      );
      if (results.sleepFailover) progress(`sleep failover: median ${short(results.sleepFailover.medianMs)} ms`);
    }
    if (only.has("hook_recovery")) {
      results.hookRecovery = await attempt("hook recovery", () => runHookRecovery(clawrelay, sizes.hookRecovery));
      if (results.hookRecovery) progress(`hook recovery: max ${short(results.hookRecovery.maxMs)} ms`);
    }
    if (only.has("relay_restart")) {
      // It restarts the relay: after the scenarios that keep connectors of their own.
      results.relayRestart = await attempt("relay restart", () => runRelayRestart(clawrelay, sizes.relayRestart));
      if (results.relayRestart) progress(`relay restart: max ${short(results.relayRestart.maxMs)} ms`);
    }
    if (only.has("profile")) {
      results.profile = await attempt("profile", () =>
        runProfile(clawrelay, { total: sizes.profileMessages, artifacts: options.artifacts }),
      );
    }
    if (only.has("logs")) {
      // Last: it restarts the relay with per-message info lines, the default outside the bench.
      results.logs = await attempt("32 → 1 with RELAY_LOG_LEVEL=info", async () => {
        await clawrelay.restartWith({ RELAY_LOG_LEVEL: "info" });
        return runLive(clawrelay, { key: "logs", ...LIVE.c32x1, total: sizes.logsMessages });
      });
      if (results.logs) progress(`logs at info: ${short(results.logs.msgsPerSecond)} msg/s`);
    }
  } finally {
    progress("stopping wrangler dev");
    await Promise.all(sides.map((side) => side.stop().catch(() => {})));
  }

  results.load = loadWatch.stop();
  results.loadAfter = loadAverage();
  results.durationSeconds = (performance.now() - started) / 1000;
  mkdirSync(options.artifacts, { recursive: true });
  writeFileSync(
    join(options.artifacts, options.quick ? "results.quick.json" : "results.json"),
    JSON.stringify(results, null, 2),
  );
  writeReport(options, results);

  const targets = checkTargets(results);
  for (const t of targets) progress(`target ${t.name}: ${t.measured} — ${verdict(t.met)}`);
  progress(`done in ${short(results.durationSeconds / 60)} min`);
  for (const problem of results.problems) progress(`PROBLEM ${problem}`);
  const unmet = options.quick ? [] : targets.filter((t) => t.met === false);
  if (unmet.length > 0) progress(`targets not met: ${unmet.map((t) => t.name).join(", ")}`);
  process.exit(results.problems.length > 0 || unmet.length > 0 ? 1 : 0);
}

main().catch((error) => {
  progress(`bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
