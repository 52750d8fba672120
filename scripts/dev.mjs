#!/usr/bin/env node
// `pnpm dev`: the relay alone on http://127.0.0.1:8787 under `wrangler dev`, with local
// persistence in .clawrelay/dev/state. On first run it makes a dev registry, an admin token and
// a receipt key, and an `alice` and a `bob` identity. Its vars go to .clawrelay/dev/dev.env, a
// file this script owns and rewrites each run, handed to wrangler with --env-file — so wrangler
// reads neither .dev.vars nor .env, and a user's own files there are left alone.
import { existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ensureAgent, prepareRelayHome, ROOT, startRelay } from "./lib/relay.mjs";

const USAGE = `usage: pnpm dev [--trust <registry>]...

  --trust <registry>  also trust this registry (repeatable), one of:
                        a registry directory (clawrelay registry init) or a clawrelay home
                        <iss>=<jwks.json>   a JWKS file, for tokens with this iss
                        a REGISTRY_JWKS file or JSON text: { "<iss>": { "keys": [...] } }
  CLAWRELAY_DEV_REGISTRIES  more of the same, separated by "${delimiter}"
  PORT                      the port (default 8787)`;

/** A bad argument or file: one line and exit status 2, never a stack. */
function usageError(message) {
  console.error(`pnpm dev: ${message}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({ options: { trust: { type: "string", multiple: true }, help: { type: "boolean" } } }).values;
} catch (error) {
  usageError(`${error.message}\n${USAGE}`);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

function readJsonFile(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    usageError(`${path}: ${error.code === "ENOENT" ? "no such file" : "not readable JSON"}`);
  }
}

/** Only public keys: a registry's private key pasted here would end up in the relay's env. */
function checkJwks(jwks, where) {
  const keys = jwks?.keys;
  if (!Array.isArray(keys) || keys.length === 0) usageError(`${where}: not a JWKS with at least one key`);
  for (const key of keys) {
    if (typeof key?.kty !== "string") usageError(`${where}: a key without kty`);
    if ("d" in key) usageError(`${where}: holds a private key; trust the public JWKS only`);
  }
  return jwks;
}

function checkRegistryMap(map, where) {
  if (typeof map !== "object" || map === null || Array.isArray(map) || "keys" in map) {
    usageError(`${where}: expected { "<iss>": <JWKS> } (for a bare JWKS, name its issuer: <iss>=<file>)`);
  }
  return Object.fromEntries(Object.entries(map).map(([iss, jwks]) => [iss, checkJwks(jwks, `${where} ${iss}`)]));
}

/** One --trust value → { "<iss>": JWKS, ... }. */
function trustedRegistries(spec) {
  if (spec.trimStart().startsWith("{")) {
    let map;
    try {
      map = JSON.parse(spec);
    } catch {
      usageError("--trust: JSON text that does not parse");
    }
    return checkRegistryMap(map, "--trust JSON");
  }
  const named = /^([\x21-\x3c\x3e-\x7e]+)=(.+)$/.exec(spec);
  if (named && !existsSync(spec)) {
    const [, iss, file] = named;
    return { [iss]: checkJwks(readJsonFile(resolve(file)), file) };
  }
  const path = resolve(spec);
  if (!existsSync(path)) usageError(`--trust ${spec}: no such file or directory`);
  if (!statSync(path).isDirectory()) return checkRegistryMap(readJsonFile(path), spec);
  const dir = existsSync(join(path, "registry.json")) ? path : join(path, "registry");
  if (!existsSync(join(dir, "registry.json"))) {
    usageError(`--trust ${spec}: neither a registry directory nor a clawrelay home with one`);
  }
  const { iss } = readJsonFile(join(dir, "registry.json"));
  if (typeof iss !== "string") usageError(`${join(dir, "registry.json")}: no iss`);
  return { [iss]: checkJwks(readJsonFile(join(dir, "registry.public.jwks.json")), dir) };
}

const specs = [
  ...(process.env.CLAWRELAY_DEV_REGISTRIES ?? "").split(delimiter).filter((s) => s.trim() !== ""),
  ...(args.trust ?? []),
];
const extra = Object.assign({}, ...specs.map(trustedRegistries));

const port = Number(process.env.PORT ?? 8787);
const home = join(ROOT, ".clawrelay/dev");
const origin = `http://127.0.0.1:${port}`;
const vars = await prepareRelayHome({ home, origin });
const devRegistries = JSON.parse(vars.REGISTRY_JWKS);
for (const iss of Object.keys(extra)) {
  if (iss in devRegistries) usageError(`--trust: ${iss} is the dev registry's own iss`);
}
vars.REGISTRY_JWKS = JSON.stringify({ ...devRegistries, ...extra });
for (const id of ["alice", "bob"]) ensureAgent(home, id, origin);

const envFile = relative(process.cwd(), join(home, "dev.env")) || join(home, "dev.env");
if (existsSync(join(ROOT, ".dev.vars")) || existsSync(join(ROOT, ".env"))) {
  console.log(
    `note: pnpm dev reads its vars from ${envFile} only; .dev.vars and .env are not read (an older pnpm dev wrote .dev.vars — delete it if you did not)`,
  );
}

// wrangler shows a Worker's console.log lines from level "log" up; "info" would hide every
// per-request line the relay writes.
const relay = await startRelay({ home, port, vars, logLevel: "log", stdio: "inherit" });
console.log(`
clawrelay is running at ${relay.url}  (state: .clawrelay/dev/state, vars: ${envFile})
  trusts:      ${Object.keys(JSON.parse(vars.REGISTRY_JWKS)).join(", ")}   (more with --trust <registry>)
  identities:  .clawrelay/dev/agents/{alice,bob}   admin token: .clawrelay/dev/admin-token
  try:         node apps/connector/bin/clawrelay.mjs --home .clawrelay/dev request GET ${relay.url}/v1/agents/alice/status --agent alice
`);
const stop = async () => {
  await relay.stop();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
await relay.exited;
