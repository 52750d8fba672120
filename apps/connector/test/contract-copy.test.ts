import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// docs/ carries the project's own copy of the contract so links work in any clone; the
// original lives beside the repository (../shared) where the project is developed. When the
// original is here, the copy must be byte-identical; elsewhere there is nothing to compare, and
// the skip says so (the summary reporter lists skip notes).
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const SHARED = resolve(ROOT, "../shared");

describe("docs/ holds exact copies of the shared contract", () => {
  for (const name of ["PROTOCOL.md", "OPENCLAW.md", "test-vectors/signing-v1.json"]) {
    it(`docs/${name} is byte-identical to ../shared/${name}`, (context) => {
      const original = join(SHARED, name);
      if (!existsSync(original)) {
        context.skip(`${original} does not exist here, so docs/${name} cannot be compared`);
      }
      const copy = readFileSync(join(ROOT, "docs", name));
      const source = readFileSync(original);
      // Buffers compare byte for byte; on a drift the message says which copy to refresh.
      expect(copy.equals(source), `docs/${name} differs from ${original}: copy it over again`).toBe(true);
    });
  }
});
