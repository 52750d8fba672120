import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The shape rules of ARCHITECTURE.md, kept by a test so they hold after the next change too:
// no source or test file in apps/ and packages/ over 300 lines, and no import cycle between
// modules at run time (a type-only import is erased and cannot make one).
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const MAX_LINES = 300;

function trackedSources(): string[] {
  const listed = execFileSync("git", ["ls-files", "-z", "apps", "packages"], { cwd: ROOT, encoding: "utf8" });
  return listed.split("\0").filter((path) => /\.(ts|mts|mjs|js)$/.test(path) && !path.endsWith(".d.ts"));
}

const IMPORT = /^(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+"(\.{1,2}\/[^"]+)"/gms;

/** The relative modules `source` needs at run time: `import type` and all-`type` name lists skipped. */
function runtimeImports(source: string): string[] {
  const out: string[] = [];
  for (const match of source.matchAll(IMPORT)) {
    const [, typeOnly, names = "", specifier = ""] = match;
    if (typeOnly) continue;
    const list = /^\{([^}]*)\}$/s.exec(names.trim());
    const entries =
      list?.[1]
        ?.split(",")
        .map((entry) => entry.trim())
        .filter(Boolean) ?? [];
    if (list && entries.length > 0 && entries.every((entry) => entry.startsWith("type "))) continue;
    out.push(specifier);
  }
  return out;
}

/** Strongly connected groups of more than one module (Tarjan), each a cycle of imports. */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) as number);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      group.push(member);
      if (member === node) break;
    }
    if (group.length > 1) cycles.push(group.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

describe("repository shape", () => {
  const files = trackedSources();

  it(`no source or test file in apps/ and packages/ is over ${MAX_LINES} lines`, () => {
    expect(files.length).toBeGreaterThan(100);
    const long = files
      .map((path) => ({ path, lines: readFileSync(join(ROOT, path), "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ path, lines }) => `${path}: ${lines} lines`);
    expect(long).toEqual([]);
  });

  it("no two modules import each other at run time, directly or around a loop", () => {
    const graph = new Map<string, string[]>();
    for (const path of files.filter((file) => file.includes("/src/"))) {
      const source = readFileSync(join(ROOT, path), "utf8");
      graph.set(
        path,
        runtimeImports(source).map((specifier) => join(dirname(path), specifier).replace(/\.js$/, ".ts")),
      );
    }
    expect(importCycles(graph)).toEqual([]);
  });

  it("the checks see what they look for (a cycle, a type-only import)", () => {
    expect(runtimeImports('import { a, type B } from "./x.js";\nimport type { C } from "./y.js";')).toEqual(["./x.js"]);
    expect(runtimeImports('import { type A, type B } from "./x.js";')).toEqual([]);
    const loop = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(importCycles(loop)).toEqual([["a.ts", "b.ts", "c.ts"]]);
  });
});
