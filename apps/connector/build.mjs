#!/usr/bin/env node
// Bundles the CLI and daemon into dist/clawrelay.mjs: the workspace packages are bundled,
// npm dependencies stay external (resolved from apps/connector/node_modules at run time;
// better-sqlite3 is native and must never be bundled).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const external = [
  ...Object.keys(pkg.dependencies ?? {}).filter((name) => !name.startsWith("@clawrelay/")),
  "bufferutil",
  "utf-8-validate",
];

await build({
  entryPoints: [join(here, "src/cli/main.ts")],
  outfile: join(here, "dist/clawrelay.mjs"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  external,
  logLevel: "warning",
  // src/cli/version.ts: the bundle carries its version (no package.json read at run time).
  define: { __CLAWRELAY_VERSION__: JSON.stringify(pkg.version) },
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __clawrelayCreateRequire } from 'node:module'; const require = __clawrelayCreateRequire(import.meta.url);",
  },
});
