#!/usr/bin/env node
// The chaos harness: `pnpm test:chaos [--cycles N] [--minutes M] [--faults a,b] [--long-every K] [--seed S] [--keep] [--keep-going]`.
// Drives a real `wrangler dev`, real connector processes and stand-in webhooks through eight
// faults, N cycles each (the minutes-long ones every K-th cycle), and checks after every cycle
// that nothing answered 2xx was lost, that no webhook saw a message twice, and that lane order
// held; the timed faults also check their bound. Exits 1 on any violation.
// What is guaranteed and how each fault is tested: RELIABILITY.md.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/relay.mjs";
import { FAULTS, LONG_FAULTS } from "./faults.mjs";
import { figuresTable } from "./report.mjs";
import { seededRandom } from "./util.mjs";
import { World } from "./world.mjs";

const { values } = parseArgs({
  allowPositionals: true,
  options: {
    cycles: { type: "string", default: "3" },
    faults: { type: "string" },
    /** Minutes-long faults (LONG_FAULTS) run on every K-th cycle only, unless named in --faults. */
    "long-every": { type: "string", default: "10" },
    seed: { type: "string" },
    /** Wall-time budget: start no new cycle after this many minutes (the summary says how many ran). */
    minutes: { type: "string" },
    keep: { type: "boolean", default: false },
    "keep-going": { type: "boolean", default: false },
  },
});

const cycles = Number(values.cycles);
if (!Number.isInteger(cycles) || cycles < 1) throw new Error("--cycles must be a positive integer");
const faultNames = (values.faults ?? Object.keys(FAULTS).join(",")).split(",").filter(Boolean);
const longEvery = Number(values["long-every"]);
if (!Number.isInteger(longEvery) || longEvery < 1) throw new Error("--long-every must be a positive integer");
/** Whether fault `name` runs in `cycle`: a long fault named in --faults runs every cycle. */
const runsIn = (name, cycle) => !LONG_FAULTS.has(name) || values.faults !== undefined || cycle % longEvery === 0;
for (const name of faultNames) {
  if (!(name in FAULTS)) throw new Error(`unknown fault ${name}; known: ${Object.keys(FAULTS).join(", ")}`);
}
const budgetMs = values.minutes !== undefined ? Number(values.minutes) * 60_000 : Number.POSITIVE_INFINITY;
if (!(budgetMs > 0)) throw new Error("--minutes must be a positive number");
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
const startedAt = Date.now();
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
const log = (text) => console.log(`[chaos ${elapsed()}] ${text}`);

// The connector daemon under test is the built bundle: build it from the current source.
const built = spawnSync(process.execPath, [join(ROOT, "apps/connector/build.mjs")], { stdio: "inherit" });
if (built.status !== 0) throw new Error("building the connector failed");

const world = new World({ random: seededRandom(seed), log, keep: values.keep });
const perFault = Object.fromEntries(faultNames.map((name) => [name, { cycles: 0, seconds: 0 }]));
let cyclesRun = 0;
let failure = null;

function violations(figures) {
  const found = [];
  if (figures.lost > 0) found.push(`lost ${figures.lost}: ${JSON.stringify(figures.lostExamples)}`);
  if (figures.sameConnectorDuplicates > 0) {
    found.push(
      `same-connector duplicates ${figures.sameConnectorDuplicates}: ${JSON.stringify(figures.duplicateExamples)}`,
    );
  }
  if (figures.laneViolations > 0)
    found.push(`lane order ${figures.laneViolations}: ${JSON.stringify(figures.laneExamples)}`);
  if (figures.strangers > 0) found.push(`${figures.strangers} webhook calls the harness never sent`);
  return found;
}

// wrangler runs in its own process group, so an interrupted harness must end it itself.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    log(`${signal}: shutting the world down`);
    world.close().finally(() => process.exit(130));
  });
}

const longNote =
  faultNames.some((name) => LONG_FAULTS.has(name)) && values.faults === undefined
    ? ` (${[...LONG_FAULTS].join(", ")} every ${longEvery}th cycle)`
    : "";
log(`seed ${seed}, ${cycles} cycle(s) of ${faultNames.join(", ")}${longNote}`);
try {
  await world.start();
  outer: for (let cycle = 1; cycle <= cycles; cycle++) {
    if (Date.now() - startedAt > budgetMs) {
      log(`time budget of ${values.minutes} min spent: stopping after ${cycle - 1} cycle(s)`);
      break;
    }
    for (const name of faultNames) {
      if (!runsIn(name, cycle)) continue;
      world.current = { fault: name, cycle };
      const began = Date.now();
      let note;
      let settled = false;
      try {
        note = await FAULTS[name](world, cycle);
        const quiet = await world.settle(`${name} cycle ${cycle}`);
        settled = true;
        note += `; settled in ${quiet.ms} ms${quiet.ms > 5000 ? `, last waiting on ${quiet.last}` : ""}`;
      } catch (error) {
        failure = `${name} cycle ${cycle}: ${error.message}`;
      }
      const figures = world.ledger.check();
      const found = violations(figures);
      if (found.length > 0) {
        // Unsettled, messages still on their way count as lost: say so beside the first error.
        const checked = `${settled ? "" : "(world not settled) "}${found.join("; ")}`;
        failure = failure ? `${failure}; ${checked}` : `${name} cycle ${cycle}: ${checked}`;
      }
      perFault[name].cycles++;
      perFault[name].seconds += (Date.now() - began) / 1000;
      log(
        `${name} #${cycle} ${failure ? "FAILED" : "ok"} in ${((Date.now() - began) / 1000).toFixed(1)}s` +
          `${note ? ` (${note})` : ""}: messages ${figures.messages}, lost ${figures.lost}, ` +
          `dup same ${figures.sameConnectorDuplicates} (+${figures.killedMidCallRepeats} killed mid-call), ` +
          `dup cross ${figures.crossConnectorDuplicates}, ` +
          `terminal ${figures.terminalReceipts}, lane violations ${figures.laneViolations}`,
      );
      if (failure && !values["keep-going"]) break outer;
      if (failure) failure = null;
    }
    cyclesRun = cycle;
  }
} catch (error) {
  failure = `setup: ${error.message}`;
} finally {
  if (failure || values.keep) log(`logs kept in ${world.dumpLogs()}`);
  await world.close();
}

const figures = world.ledger.check();
const failed = failure !== null || violations(figures).length > 0;
const seconds = Math.round((Date.now() - startedAt) / 1000);
console.log(
  JSON.stringify({
    event: "chaos_summary",
    result: failed ? "FAIL" : "PASS",
    seed,
    cyclesRequested: cycles,
    cyclesRun,
    faults: perFault,
    messages: figures.messages,
    refused: figures.refused,
    delivered: figures.delivered,
    lost: figures.lost,
    duplicatesSameConnector: figures.sameConnectorDuplicates,
    repeatsAfterKillMidCall: figures.killedMidCallRepeats,
    duplicatesCrossConnector: figures.crossConnectorDuplicates,
    terminalReceipts: figures.terminalReceipts,
    terminalByStatus: figures.terminalByStatus,
    laneOrderViolations: figures.laneViolations,
    byFault: figures.byFault,
    seconds,
    ...(failure ? { failure } : {}),
  }),
);
console.log(`\n${figuresTable(figures, perFault)}\n`);
console.log(
  `chaos: ${failed ? "FAIL" : "PASS"} cycles=${cyclesRun}/${cycles} messages=${figures.messages} ` +
    `delivered=${figures.delivered} lost=${figures.lost} duplicates_same_connector=${figures.sameConnectorDuplicates} ` +
    `repeats_after_kill_mid_call=${figures.killedMidCallRepeats} ` +
    `duplicates_cross_connector=${figures.crossConnectorDuplicates} terminal_receipts=${figures.terminalReceipts} ` +
    `lane_order_violations=${figures.laneViolations} seconds=${seconds} seed=${seed}`,
);
process.exit(failed ? 1 : 0);
