#!/usr/bin/env node
// The published package works on a machine that has only Node and npm: `npm pack` the
// connector, `npm i -g` the tarball into a temporary prefix, and with nothing but that
// installed `clawrelay` (no monorepo on PATH, no workspace node_modules) make a registry and two
// agents, run both connectors against a real `wrangler dev` relay that trusts the registry,
// send one message and see it reach the recipient's (stand-in) webhook.
// Exit 0 on success; otherwise one line naming what failed. Every process and temp dir goes.
import { spawn } from "node:child_process";
import { randomBytes, webcrypto } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { freePort, waitUntil } from "./lib/connector.mjs";
import { StandInHook } from "./lib/hook.mjs";
import { ROOT, startRelay } from "./lib/relay.mjs";

const PACKAGE_DIR = join(ROOT, "apps/connector");
const VERSION = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")).version;
// What the tarball may hold: the launcher, the bundle, the README and the manifest.
const PACKED_FILES = [
  "package/README.md",
  "package/bin/clawrelay.mjs",
  "package/dist/clawrelay.mjs",
  "package/package.json",
];
const STEP_TIMEOUT_MS = 60_000;
const INSTALL_TIMEOUT_MS = 10 * 60_000; // better-sqlite3 compiles from source

const startedAt = Date.now();
const work = mkdtempSync(join(tmpdir(), "clawrelay-pack-check-"));
const prefix = join(work, "prefix");
const binary = join(prefix, "bin", "clawrelay");
const home = join(work, "clawrelay-home");
const cleanups = [];
const say = (text) => console.log(`pack-check: ${text}`);

/**
 * The environment of a machine without the monorepo: its bin dirs off PATH, no pnpm/npm run
 * variables. `fakeHome: false` keeps the user's HOME (npm's ~/.npmrc and cache live there).
 */
function outsideEnv({ fakeHome = true } = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_|PNPM_|CLAWRELAY_|INIT_CWD$|NODE_PATH$)/.test(key)) env[key] = value;
  }
  const path = (process.env.PATH ?? "").split(delimiter).filter((dir) => dir && !dir.startsWith(ROOT));
  env.PATH = [join(prefix, "bin"), ...path].join(delimiter);
  // clawrelay gets --home everywhere; a HOME of its own proves it needs nothing from ~.
  if (fakeHome) env.HOME = join(work, "user-home");
  return env;
}

/** Run a command to its end; resolves with its output, rejects with one line naming it. */
function run(command, args, { cwd = work, env = outsideEnv(), timeoutMs = STEP_TIMEOUT_MS, name } = {}) {
  const label = name ?? `${command} ${args.slice(0, 2).join(" ")}`;
  return new Promise((resolve, reject) => {
    // Its own process group, so a kill also ends what it started (npm → node-gyp → make → cc).
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const closed = new Promise((resolveClose) => child.once("close", resolveClose));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, timeoutMs);
    const stop = async () => {
      killGroup(child, "SIGKILL");
      await closed;
    };
    cleanups.push(stop);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`${label}: ${error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      cleanups.splice(cleanups.indexOf(stop), 1);
      if (code === 0) resolve(stdout);
      else if (timedOut) reject(new Error(`${label} did not finish within ${timeoutMs / 1000} s`));
      else reject(new Error(`${label} failed (${signal ?? `exit ${code}`}): ${lastLine(stderr || stdout)}`));
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function lastLine(text) {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.at(-1) ?? "no output";
}

const clawrelay = (args, options = {}) =>
  run(binary, ["--home", home, ...args], { name: `clawrelay ${args.slice(0, 2).join(" ")}`, ...options });

async function packAndInstall() {
  const packDir = join(work, "pack");
  mkdirSync(packDir);
  // prepack builds the bundle; the monorepo's esbuild does that, so this one runs inside it.
  await run("npm", ["pack", "--pack-destination", packDir], { cwd: PACKAGE_DIR, env: process.env, name: "npm pack" });
  const tarballs = readdirSync(packDir).filter((file) => file.endsWith(".tgz"));
  if (tarballs.length !== 1) throw new Error(`npm pack made ${tarballs.length} tarballs`);
  const tarball = join(packDir, tarballs[0]);
  const listed = (await run("tar", ["-tzf", tarball], { name: "tar -tzf" })).split("\n").filter(Boolean).sort();
  if (listed.join() !== PACKED_FILES.join()) throw new Error(`the tarball holds ${listed.join(", ")}`);
  const manifest = JSON.parse(await run("tar", ["-xzOf", tarball, "package/package.json"], { name: "tar -x" }));
  const unpublished = Object.entries(manifest.dependencies ?? {}).filter(([, spec]) => spec.startsWith("workspace:"));
  if (unpublished.length > 0) throw new Error(`the package depends on workspace packages: ${unpublished.join(", ")}`);
  say(`packed ${tarballs[0]}; installing it into a temporary prefix (better-sqlite3 builds from source)`);
  const env = outsideEnv({ fakeHome: false });
  // Only the npm registry may be reached: no prebuilt binary download from GitHub.
  env.npm_config_build_from_source = "true";
  await run(
    "npm",
    ["install", "--global", "--prefix", prefix, "--no-audit", "--no-fund", "--allow-scripts=better-sqlite3", tarball],
    { env, timeoutMs: INSTALL_TIMEOUT_MS, name: "npm install --global" },
  );
}

async function relayKey() {
  const pair = await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const jwk = await webcrypto.subtle.exportKey("jwk", pair.privateKey);
  return { kty: "OKP", crv: "Ed25519", x: jwk.x, d: jwk.d, kid: `relay-${randomBytes(4).toString("hex")}` };
}

/** A `wrangler dev` relay (the monorepo's Worker: it is not what is under test) trusting `registryDir`. */
async function startTrustingRelay(registryDir) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const jwks = JSON.parse(readFileSync(join(registryDir, "registry.public.jwks.json"), "utf8"));
  const { iss } = JSON.parse(readFileSync(join(registryDir, "registry.json"), "utf8"));
  const relayHome = join(work, "relay");
  mkdirSync(relayHome);
  const relay = await startRelay({
    home: relayHome,
    port,
    vars: {
      ADMIN_TOKEN: randomBytes(24).toString("base64url"),
      RELAY_SIGNING_JWK: JSON.stringify(await relayKey()),
      RELAY_ORIGIN: origin,
      REGISTRY_JWKS: JSON.stringify({ [iss]: jwks }),
      TRUSTED_RELAYS: "[]",
    },
  });
  cleanups.push(() => relay.stop());
  return origin;
}

/** `connector start` from the installed binary; resolves once the connector has linked to the relay. */
async function startConnector(agentId, configPath) {
  const child = spawn(binary, ["--home", home, "connector", "start", "--config", configPath], {
    cwd: work,
    env: outsideEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise((resolve) => child.once("close", resolve));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killGroup(child, "SIGTERM");
    const force = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
    await exited;
    clearTimeout(force);
  });
  const lines = [];
  let partial = "";
  const collect = (chunk) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts.filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  // Not a TTY, so the log is JSON lines; `link_connected` says the relay accepted the agent.
  const linked = () => lines.some((line) => eventOf(line) === "link_connected");
  await waitUntil(
    () => {
      if (child.exitCode !== null) throw new Error(`connector ${agentId} exited: ${lastLine(lines.join("\n"))}`);
      return linked();
    },
    30_000,
    `connector ${agentId} to link to the relay`,
  );
}

function eventOf(line) {
  try {
    return JSON.parse(line).event;
  } catch {
    return undefined;
  }
}

async function initConnector(agentId, hookUrl) {
  const agentDir = join(home, "agents", agentId);
  const configPath = join(agentDir, "connector.json");
  const port = await freePort();
  await clawrelay(["connector", "init", "--agent", agentDir, "--hook", hookUrl, "--port", String(port)]);
  return configPath;
}

async function main() {
  await packAndInstall();
  const version = (await run(binary, ["--version"], { name: "clawrelay --version" })).trim();
  if (version !== VERSION) throw new Error(`clawrelay --version printed "${version}", the package is ${VERSION}`);
  say(`installed clawrelay ${version} at ${binary}`);

  await clawrelay(["registry", "init", "--iss", "pack-check-registry"]);
  const origin = await startTrustingRelay(join(home, "registry"));
  say(`relay up at ${origin}`);
  for (const agent of ["alice-agent", "bob-agent"]) await clawrelay(["agent", "create", agent, "--relay", origin]);

  const hooks = { alice: await new StandInHook().start(), bob: await new StandInHook().start() };
  cleanups.push(
    () => hooks.alice.close(),
    () => hooks.bob.close(),
  );
  const aliceConfig = await initConnector("alice-agent", hooks.alice.url);
  const bobConfig = await initConnector("bob-agent", hooks.bob.url);
  // Bob links first: the relay answers 404 unknown_recipient for an agent it never saw.
  await startConnector("bob-agent", bobConfig);
  await startConnector("alice-agent", aliceConfig);
  say("both connectors linked; sending alice-agent → bob-agent");

  const nonce = randomBytes(8).toString("hex");
  await clawrelay(["send", "bob-agent", JSON.stringify({ nonce }), "--config", aliceConfig]);
  await hooks.bob.waitFor(
    (hook) => hook.messages().some((call) => call.body.item?.payload?.nonce === nonce),
    30_000,
    "the message in bob-agent's webhook",
  );
}

async function cleanUp() {
  // Last started, first stopped: connectors before the relay they talk to.
  for (const stop of cleanups.splice(0).reverse()) {
    try {
      await stop();
    } catch {
      // keep going: everything else must still go
    }
  }
  rmSync(work, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    console.error(`pack-check: interrupted (${signal})`);
    cleanUp().finally(() => process.exit(1));
  });
}

try {
  await main();
  await cleanUp();
  say(`ok: installed package delivered a message in ${Math.round((Date.now() - startedAt) / 1000)} s`);
} catch (error) {
  await cleanUp();
  console.error(`pack-check: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
