import fc from "fast-check";
import { expect, inject } from "vitest";
import { Coverage, type CoverageEvent } from "./coverage.js";
import { EXAMPLES } from "./examples.js";
import { scenarioArbitrary } from "./ops.js";
import { makeFixture, runScenario } from "./runner.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** MODEL_RUNS from the environment (vitest.config.ts), 1000 by default. */
    modelRuns: number;
  }
}

/** Below this many runs (a quick local try) the coverage floor is not enforced. */
const COVERAGE_FLOOR_RUNS = 1000;

/** A generous bound on one run (tens of milliseconds each on a 2-core machine), for the test timeout. */
export function modelTimeoutMs(): number {
  return 120_000 + inject("modelRuns") * 300;
}

/**
 * Check the real session against the reference model on `inject("modelRuns")` random scenarios,
 * after the hand-written EXAMPLES. A failure prints fast-check's seed, path and shrunk scenario;
 * `runScenario(scenario, fixture)` replays one. Then each `required` event must have been reached
 * in at least one run.
 */
export async function checkAgainstModel(required: readonly CoverageEvent[]): Promise<void> {
  const coverage = new Coverage();
  const fixture = await makeFixture(coverage);
  const runs = inject("modelRuns");
  const saved = { log: console.log, warn: console.warn, error: console.error };
  // The Worker and the session log every request and hop as JSON lines (507s at level error);
  // thousands of runs would drown the report. A disagreement fails an assertion, not a log line.
  console.log = () => {};
  console.warn = () => {};
  console.error = () => {};
  const startedAt = performance.now();
  try {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, (scenario) => runScenario(scenario, fixture)),
      { numRuns: runs, examples: EXAMPLES.map((scenario) => [scenario]) },
    );
  } finally {
    console.log = saved.log;
    console.warn = saved.warn;
    console.error = saved.error;
  }
  const seconds = Math.round((performance.now() - startedAt) / 1000);
  console.log(`model: ${runs} runs (+${EXAMPLES.length} examples) in ${seconds} s; coverage: ${coverage.summary()}`);
  if (runs >= COVERAGE_FLOOR_RUNS) expect(coverage.missing(required), "events no run reached").toEqual([]);
}
