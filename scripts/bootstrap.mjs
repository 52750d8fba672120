#!/usr/bin/env node
// Makes a fresh machine with only Node 20 and npm ready: the pinned pnpm, then the workspace
// install. Safe to run again; fast when everything is in place.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const PNPM_VERSION = "10.34.9";
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`clawrelay needs Node.js 20.19 or newer (this is ${process.version}).`);
  process.exit(1);
}

function pnpmVersion() {
  const result = spawnSync("pnpm", ["--version"], { encoding: "utf8", shell: process.platform === "win32" });
  return result.status === 0 ? result.stdout.trim() : null;
}

if (pnpmVersion() !== PNPM_VERSION) {
  // corepack is not usable on these machines; npm's global install is.
  console.error(`bootstrap: installing pnpm@${PNPM_VERSION} with npm`);
  execFileSync("npm", ["install", "--global", `pnpm@${PNPM_VERSION}`], { stdio: "inherit" });
}

// The dashboard's browser test drives Debian's Chromium (never a downloaded browser). CI runs as
// root on Debian, so install it there; elsewhere say what is missing instead of failing later.
const CHROMIUM = "/usr/bin/chromium";
if (process.platform === "linux" && !existsSync(CHROMIUM)) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.error("bootstrap: installing Debian's chromium for the dashboard browser test");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], { stdio: "inherit", env });
  } else {
    console.error(`bootstrap: ${CHROMIUM} is missing; install Debian's chromium package for the browser test`);
  }
}

const install = spawnSync("pnpm", ["install", "--frozen-lockfile", "--prefer-offline", "--reporter=silent"], {
  stdio: "inherit",
});
if (install.status !== 0) process.exit(install.status ?? 1);
