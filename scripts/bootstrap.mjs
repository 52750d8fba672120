#!/usr/bin/env node
// Makes a machine with only Node 20 and npm ready for one purpose, installing only what that
// purpose needs and saying what and why before each install:
//
//   node scripts/bootstrap.mjs [--for demo|test|ci] [--then <package.json script>]
//
//   demo (default)  the pinned pnpm (only if the one on PATH is missing or another version; then
//                   project-local in .cache/pnpm, never replacing a global one) and the
//                   workspace's dependencies
//   test, ci        the same, and the Debian tools tests drive: chromium (the dashboard's headless
//                   browser test) and promtool (package prometheus, the ops/ alert rules), through
//                   apt only when running as root, as CI does; otherwise a one-line hint each
//   --then <script> afterwards runs `pnpm run --silent <script>` with that pnpm first on PATH,
//                   so scripts that call pnpm work with a project-local one too.
//
// Safe to run again; one line and a few seconds when everything is in place.
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PNPM_VERSION = "10.34.9";
const LOCAL_PNPM_PREFIX = join(ROOT, ".cache/pnpm");
const LOCAL_PNPM_BIN = join(LOCAL_PNPM_PREFIX, "node_modules/.bin");
const DEBIAN_TOOLS = [
  { command: "chromium", debianPackage: "chromium", why: "the dashboard's headless browser test" },
  { command: "promtool", debianPackage: "prometheus", why: "the ops/ alert rules' check" },
];
const PURPOSES = ["demo", "test", "ci"];
// npm and pnpm are .cmd files there, which only a shell runs.
const WINDOWS = process.platform === "win32";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`clawrelay needs Node.js 20.19 or newer (this is ${process.version}).`);
  process.exit(1);
}

const { purpose, script } = parseArgs(process.argv.slice(2));
const say = (text) => console.error(`bootstrap: ${text}`);

const pnpm = ensurePnpm();
if (purpose !== "demo") ensureDebianTools();

say("pnpm install (the workspace's dependencies, as pinned in pnpm-lock.yaml; quick when up to date)");
run(pnpm.command, ["install", "--frozen-lockfile", "--prefer-offline", "--reporter=silent"], pnpm.env);

if (script) runScript(pnpm, script);

function parseArgs(args) {
  const options = { purpose: "demo", script: null };
  for (let i = 0; i < args.length; i++) {
    const value = args[i + 1];
    if (args[i] === "--for" && PURPOSES.includes(value)) options.purpose = value;
    else if (args[i] === "--then" && value && !value.startsWith("-")) options.script = value;
    else usage(`unknown or incomplete argument: ${args[i]}`);
    i++;
  }
  return options;
}

function usage(problem) {
  console.error(`bootstrap: ${problem}\nusage: node scripts/bootstrap.mjs [--for demo|test|ci] [--then <script>]`);
  process.exit(2);
}

/** Run to completion with inherited output; exit with its status if it fails. */
function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: "inherit", env, shell: WINDOWS });
  if (result.error) {
    say(`${command} could not run: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/**
 * `pnpm run --silent <script>` as this process's last act: Ctrl-C reaches the script's whole
 * process group from the terminal, so this one only waits (and passes on a SIGTERM sent to it
 * alone) and then exits with the script's status.
 */
function runScript({ command, env }, script) {
  const child = spawn(command, ["run", "--silent", script], { cwd: ROOT, stdio: "inherit", env, shell: WINDOWS });
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  child.on("error", (error) => {
    say(`${command} could not run: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function versionOf(command) {
  const result = spawnSync(command, ["--version"], { encoding: "utf8", shell: WINDOWS });
  return result.status === 0 ? result.stdout.trim() : null;
}

/**
 * The pinned pnpm: the one on PATH when it is that version, else a project-local copy under
 * .cache/pnpm (installed once with npm). A global pnpm of another version is left alone.
 */
function ensurePnpm() {
  const onPath = versionOf("pnpm");
  if (onPath === PNPM_VERSION) return { command: "pnpm", env: process.env };
  const local = join(LOCAL_PNPM_BIN, "pnpm");
  if (versionOf(local) !== PNPM_VERSION) {
    const found = onPath ? `the pnpm on PATH is ${onPath} and is left alone` : "no pnpm on PATH";
    say(`installing pnpm@${PNPM_VERSION} into .cache/pnpm with npm (this workspace pins it; ${found})`);
    run("npm", [
      "install",
      "--prefix",
      LOCAL_PNPM_PREFIX,
      "--no-save",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `pnpm@${PNPM_VERSION}`,
    ]);
  }
  // First on PATH for everything run from here (scripts that call `pnpm` get this one).
  return { command: local, env: { ...process.env, PATH: `${LOCAL_PNPM_BIN}${delimiter}${process.env.PATH ?? ""}` } };
}

/**
 * Debian tools the tests drive, never downloaded builds: chromium (the dashboard's headless
 * browser test) and promtool from the `prometheus` package (the ops/ alert rules' checks).
 * Installed through apt only as root (CI); anyone else gets a one-line hint and those tests say
 * what is missing.
 */
function ensureDebianTools() {
  if (process.platform !== "linux") return;
  const missing = DEBIAN_TOOLS.filter((tool) => !onPath(tool.command));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    for (const tool of missing) {
      say(`${tool.command} is missing: ${tool.why} needs it (sudo apt-get install ${tool.debianPackage})`);
    }
    return;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  say("apt-get update (package lists, for the installs below)");
  run("apt-get", ["update", "-qq"], env);
  for (const tool of missing) {
    say(`installing Debian's ${tool.debianPackage} with apt-get (${tool.why} runs ${tool.command})`);
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", tool.debianPackage], env);
  }
}

/** Whether an executable of that name is on PATH (looked up, not run: chromium is slow to start). */
function onPath(command) {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
