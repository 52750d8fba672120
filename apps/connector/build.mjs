#!/usr/bin/env node
// Bundles the CLI and daemon into dist/clawrelay.mjs, the one file the published `clawrelay`
// package runs. The workspace packages (@clawrelay/protocol, @clawrelay/signing) and every
// pure-JS dependency are bundled in, so `npm i -g clawrelay` installs only what must stay
// external: the `dependencies` of package.json (better-sqlite3, which is native) and ws's
// optional native helpers (ws falls back to JS when they are absent). A second bundle,
// dist/daemon-internal.mjs, is the daemon alone for the chaos harness (src/daemon/internal.ts);
// package.json's `files` leaves it out of the published package.
import { readFileSync, rmSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const external = [...Object.keys(pkg.dependencies ?? {}), "bufferutil", "utf-8-validate"];
// `--release` (npm pack's prepack): no source map. The package ships the bundle alone; a map
// would double its size and point at src/, which it does not carry.
const release = process.argv.includes("--release");
const bundles = [
  { entry: "src/cli/main.ts", outfile: join(here, "dist/clawrelay.mjs") },
  { entry: "src/daemon/internal.ts", outfile: join(here, "dist/daemon-internal.mjs") },
];
if (release) for (const { outfile } of bundles) rmSync(`${outfile}.map`, { force: true });

const buildOne = ({ entry, outfile }) =>
  build({
    entryPoints: [join(here, entry)],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // In the checkout, maps give file:line under `node --enable-source-maps`; src/ is beside them,
    // so they need not carry the sources.
    sourcemap: !release,
    sourcesContent: false,
    external,
    metafile: true,
    logLevel: "warning",
    // src/cli/version.ts: the bundle carries its version (no package.json read at run time).
    define: { __CLAWRELAY_VERSION__: JSON.stringify(pkg.version) },
    // Some dependencies are CommonJS and call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __clawrelayCreateRequire } from 'node:module'; const require = __clawrelayCreateRequire(import.meta.url);",
    },
  });
const results = await Promise.all(bundles.map(buildOne));

// Every package the bundle still imports must be one the installed package can find: a
// dependency in package.json or an optional one ws guards with try/catch. Anything else
// would work here (the workspace's node_modules) and break after `npm i -g`.
const leftOutside = new Set();
for (const output of results.flatMap((result) => Object.values(result.metafile.outputs))) {
  for (const { path, external: isExternal } of output.imports) {
    if (isExternal && !isBuiltin(path)) leftOutside.add(path);
  }
}
const unexpected = [...leftOutside].filter((name) => !external.includes(name));
if (unexpected.length > 0) {
  console.error(`build: the bundle imports packages the published package does not carry: ${unexpected.join(", ")}`);
  process.exit(1);
}
