import { join } from "node:path";
import type { Reporter, TestModule, Vitest } from "vitest/node";
import { holdWorkerdDisconnects } from "./workerd-noise.js";

/**
 * Adds one plain closing line, `tests: N passed, N failed, N skipped`, after vitest's own
 * summary, so any log reader can tell the outcome without knowing vitest's format. It also
 * keeps workerd's disconnect messages (workerd-noise.ts) out of the output, in a file the
 * closing lines name.
 */
export default class SummaryReporter implements Reporter {
  #workerdLog = "";
  #disconnects: { count(): number } | null = null;

  onInit(vitest: Vitest): void {
    this.#workerdLog = join(vitest.config.root, "test-artifacts/logs/workerd-disconnects.log");
    this.#disconnects = holdWorkerdDisconnects(this.#workerdLog);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    // A test that skips itself with a reason (`context.skip(note)`) is named here: a check that
    // could not run must not look like one that passed.
    const skipNotes: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === "passed") passed++;
        else if (result.state === "failed") failed++;
        else skipped++;
        if (result.state === "skipped" && result.note) skipNotes.push(`skipped: ${test.fullName} (${result.note})`);
      }
      if (module.state() === "failed" && module.children.size === 0) failed++;
    }
    if (skipNotes.length > 0) process.stdout.write(`\n${skipNotes.join("\n")}\n`);
    const held = this.#disconnects?.count() ?? 0;
    if (held > 0) {
      process.stdout.write(`\nworkerd: ${held} disconnect messages held back (${this.#workerdLog})`);
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
