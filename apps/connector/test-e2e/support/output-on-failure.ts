import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { childLinesSince, mark } from "../../../../scripts/lib/child-output.mjs";
import { ROOT } from "../../../../scripts/lib/relay.mjs";

// Setup file of the e2e project. The relays and connectors a test starts print nothing while it
// runs (scripts/lib/child-output.mjs keeps their lines); when a test fails, what they wrote
// during it goes to test-artifacts/logs/<test>.log and its tail into the test's own output,
// which vitest (silent: "passed-only") shows with the failure.

const SHOWN_LINES = 60;
let startedAt = 0;

beforeEach(() => {
  startedAt = mark();
});

afterEach((context) => {
  if (context.task.result?.state !== "fail") return;
  const lines = childLinesSince(startedAt);
  if (lines.length === 0) return;
  const dir = join(ROOT, "test-artifacts/logs");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${logName(context.task.file.name, context.task.name)}.log`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  const shown = lines.slice(-SHOWN_LINES);
  console.error(
    `--- relay and connector output during this test (last ${shown.length} of ${lines.length} lines; all in ${file})\n${shown.join("\n")}`,
  );
});

/** A file name from the test file and test name: letters, digits and dashes, bounded in length. */
function logName(file: string, test: string): string {
  const base =
    file
      .split("/")
      .pop()
      ?.replace(/\.e2e\.test\.ts$/, "") ?? "e2e";
  const slug = test
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 80);
  return `${base}--${slug}`;
}
