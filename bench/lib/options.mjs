// Command line of `pnpm bench` and the sizes of each scenario, full and --quick.
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/relay.mjs";

/** `backlog` includes the connector-memory measurement (its largest size fills the connector's inbox). */
export const SCENARIOS = [
  "seq1",
  "c32x1",
  "c32x32",
  "cost",
  "backlog",
  "failover",
  "sleep_failover",
  "hook_recovery",
  "relay_restart",
  "profile",
  "logs",
];

const FULL = {
  seq1: 500,
  c32x1: 4000,
  c32x32: 4000,
  /** Each live shape again through the frame-counting proxy (the cost model's counted pass). */
  costMessages: 1000,
  backlogSizes: [1_000, 10_000, 100_000],
  failoverRounds: 5,
  sleepFailoverRounds: 5,
  /** Each round: until the hook breaker opens, plus up to one probe interval (30 s), plus the recovery. */
  hookRecovery: { rounds: 3, extraDownMs: 30_000 },
  relayRestart: { rounds: 3, connectorCount: 8, downMs: 20_000 },
  profileMessages: 3000,
  logsMessages: 2000,
  /** The whole run is aborted (non-zero exit, everything killed) past this. */
  watchdogMs: 30 * 60_000,
};

const QUICK = {
  seq1: 40,
  c32x1: 320,
  c32x32: 320,
  costMessages: 100,
  backlogSizes: [100, 300, 1_000],
  failoverRounds: 2,
  sleepFailoverRounds: 1,
  hookRecovery: { rounds: 1, extraDownMs: 0 },
  relayRestart: { rounds: 1, connectorCount: 3, downMs: 3_000 },
  profileMessages: 320,
  logsMessages: 320,
  // The three time-bound scenarios add about a minute and a half (a sleep failover alone is ~10 s).
  watchdogMs: 10 * 60_000,
};

const USAGE = `usage: pnpm bench [--quick] [--only <scenario,...>] [--out <file>]
  --quick      small sizes, every code path (CI smoke check); writes test-artifacts/bench/BENCHMARKS.quick.md
  --only       run some of: ${SCENARIOS.join(", ")}
  --out        where the Markdown report goes (default BENCHMARKS.md, or the quick file with --quick)
  --no-write   print the report, write no file
  --from       render the report again from a results.json of an earlier run (runs nothing)`;

/** Parsed flags: { quick, only: Set, out: string | null, sizes, artifacts }. Throws on unknown flags. */
export function parseOptions(argv) {
  const options = { quick: false, only: new Set(SCENARIOS), out: undefined, write: true, from: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--only") options.only = new Set(value().split(","));
    else if (arg === "--out") options.out = value();
    else if (arg === "--no-write") options.write = false;
    else if (arg === "--from") options.from = value();
    else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  for (const name of options.only) {
    if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario ${name}\n${USAGE}`);
  }
  const artifacts = join(ROOT, "test-artifacts/bench");
  options.artifacts = artifacts;
  options.out ??= options.quick ? join(artifacts, "BENCHMARKS.quick.md") : join(ROOT, "BENCHMARKS.md");
  options.sizes = options.quick ? QUICK : FULL;
  return options;
}
