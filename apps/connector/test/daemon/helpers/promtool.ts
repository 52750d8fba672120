import { spawnSync } from "node:child_process";

/**
 * `promtool check metrics` (Debian's `prometheus` package) over an exposition. Missing promtool
 * skips the check locally, with the reason in the test name; under CI (process.env.CI set) it
 * fails instead, so CI can never pass without the check having run.
 */
export const PROMTOOL_MISSING: string | null =
  spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0
    ? null
    : "promtool is not installed (apt-get install -y prometheus)";

/** Throw when CI should have had promtool; true when the check can run here. */
export function promtoolAvailable(): boolean {
  if (PROMTOOL_MISSING === null) return true;
  if (process.env.CI) throw new Error(`${PROMTOOL_MISSING}: CI must run the promtool checks`);
  return false;
}

/** promtool's verdict: exit status and what it printed (problems, one a line). */
export function checkMetrics(text: string): { status: number | null; output: string } {
  const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30_000 });
  return { status: run.status, output: `${run.stdout ?? ""}${run.stderr ?? ""}`.trim() };
}
