// Starting a local relay: dev identities on first run, then `wrangler dev` with local
// persistence. Used by `pnpm dev`, the demo, the end-to-end tests and the benchmarks.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes, webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { childLinesSince, lineSplitter, mark, recordChildLine } from "./child-output.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = join(ROOT, "apps/connector/bin/clawrelay.mjs");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

/** Run the clawrelay CLI synchronously; returns stdout, throws with its stderr on failure. */
export function cli(args, options = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", ...options });
  if (result.status !== 0) throw new Error(`clawrelay ${args.join(" ")} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

export function ensureCliBuilt() {
  if (!existsSync(join(ROOT, "apps/connector/dist/clawrelay.mjs"))) {
    const built = spawnSync(process.execPath, [join(ROOT, "apps/connector/build.mjs")], { stdio: "inherit" });
    if (built.status !== 0) throw new Error("building the connector CLI failed");
  }
}

async function relayKey(kid) {
  const pair = await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const jwk = await webcrypto.subtle.exportKey("jwk", pair.privateKey);
  return { kty: "OKP", crv: "Ed25519", x: jwk.x, d: jwk.d, kid };
}

/**
 * Make (once) and load a relay's local identity: a dev registry, an admin token and a receipt
 * signing key under `home`. Returns the vars a `wrangler dev` of this relay needs.
 */
export async function prepareRelayHome({
  home,
  origin,
  iss = "dev-registry",
  extraRegistries = {},
  trustedRelays = [],
}) {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  ensureCliBuilt();
  const registryDir = join(home, "registry");
  if (!existsSync(join(registryDir, "registry.public.jwks.json"))) {
    cli(["--home", home, "registry", "init", "--iss", iss]);
  }
  const jwks = JSON.parse(readFileSync(join(registryDir, "registry.public.jwks.json"), "utf8"));
  const registryIss = JSON.parse(readFileSync(join(registryDir, "registry.json"), "utf8")).iss;
  const tokenFile = join(home, "admin-token");
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(24).toString("base64url"), { mode: 0o600 });
  const relayKeyFile = join(home, "relay.private.jwk.json");
  if (!existsSync(relayKeyFile)) {
    writeFileSync(relayKeyFile, JSON.stringify(await relayKey(`relay-${randomBytes(4).toString("hex")}`)), {
      mode: 0o600,
    });
  }
  return {
    ADMIN_TOKEN: readFileSync(tokenFile, "utf8").trim(),
    RELAY_SIGNING_JWK: readFileSync(relayKeyFile, "utf8").trim(),
    RELAY_ORIGIN: origin,
    REGISTRY_JWKS: JSON.stringify({ [registryIss]: jwks, ...extraRegistries }),
    TRUSTED_RELAYS: JSON.stringify(trustedRelays),
  };
}

/** Create an agent identity under `home` (once). */
export function ensureAgent(home, id, relayOrigin) {
  const dir = join(home, "agents", id);
  const tokenPath = join(dir, "identity.jwt");
  if (!existsSync(tokenPath)) {
    cli(["--home", home, "agent", "create", id, "--relay", relayOrigin]);
  } else if (!identityFits(readFileSync(tokenPath, "utf8"), relayOrigin)) {
    // A kept identity names the relay it was made for (the `relay` claim): after the demo or a
    // test picks another port, receipts for it would be addressed to a relay that no longer
    // exists. The same goes for a token about to expire. Make a fresh one.
    cli(["--home", home, "agent", "create", id, "--relay", relayOrigin, "--force"]);
  }
  return dir;
}

/** Does a kept identity token belong to `relayOrigin` and stay valid for at least another day? */
function identityFits(token, relayOrigin) {
  try {
    const claims = JSON.parse(Buffer.from(token.trim().split(".")[1] ?? "", "base64url").toString("utf8"));
    return (
      claims.relay === relayOrigin && typeof claims.exp === "number" && claims.exp * 1000 > Date.now() + 86_400_000
    );
  } catch {
    return false;
  }
}

function envFile(path, vars) {
  // .env syntax: single-quoted values are taken literally (our values are JSON, tokens, URLs).
  const lines = Object.entries(vars).map(([k, v]) => `${k}='${String(v).replaceAll("'", "")}'`);
  writeFileSync(path, `${lines.join("\n")}\n`, { mode: 0o600 });
}

export async function waitForHealth(url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`relay at ${url} did not become healthy within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Start `wrangler dev` for this repo's Worker on 127.0.0.1:`port`, state persisted under
 * `home/state`, vars from `home/dev.env`. Resolves once /healthz answers.
 */
export async function startRelay({ home, port, vars, logLevel = "warn", stdio = "pipe", onOutput, inspectorPort = 0 }) {
  envFile(join(home, "dev.env"), vars);
  const args = [
    "dev",
    "--config",
    join(ROOT, "wrangler.toml"),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    join(home, "state"),
    "--env-file",
    join(home, "dev.env"),
    "--log-level",
    logLevel,
    "--show-interactive-dev-session=false",
  ];
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true, // own process group, so stop() ends workerd too
    stdio: stdio === "inherit" ? "inherit" : ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
  });
  // Captured, never echoed (child-output.mjs): a test shows these lines only when it fails.
  const startedAt = mark();
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    const split = lineSplitter((line) => recordChildLine(`relay :${port}`, line));
    stream.on("data", (d) => {
      split(d);
      onOutput?.(String(d));
    });
    stream.once("end", split.flush);
  }
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolveExit) => child.once("exit", (code, signal) => resolveExit({ code, signal })));
  // A start that fails says why: wrangler's last lines go into the error.
  const withOutput = (message) => {
    const tail = childLinesSince(startedAt).slice(-20);
    return new Error(tail.length ? `${message}; its last output:\n${tail.join("\n")}` : message);
  };
  await Promise.race([
    waitForHealth(url).catch((error) => {
      throw withOutput(error.message);
    }),
    exited.then(({ code, signal }) => {
      throw withOutput(`wrangler dev exited early (code ${code}, signal ${signal})`);
    }),
  ]);
  return {
    url,
    pid: child.pid,
    child,
    exited,
    /** Signal the whole process group (wrangler and workerd). */
    kill(signal = "SIGTERM") {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    },
    async stop() {
      this.kill("SIGTERM");
      const timer = setTimeout(() => this.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      await this.groupGone();
    },
    /**
     * Resolves once no process of the group is left: wrangler can exit before its workerd
     * children, which would still hold the port and the state a restart needs.
     */
    async groupGone(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (groupAlive(child.pid)) {
        if (Date.now() > deadline)
          throw new Error(`relay process group ${child.pid} still alive after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

/**
 * A relay under test or demo: `wrangler dev` on a loopback port with its own home (state, dev
 * registry, admin token). `crash()` SIGKILLs the process group; `restart()` brings it back on
 * the same port and state.
 */
export class LocalRelay {
  output = [];
  #running = null;

  constructor(home, port, vars) {
    this.home = home;
    this.port = port;
    this.vars = vars;
  }

  static async start({
    home,
    port,
    extraVars = {},
    iss,
    logLevel = "warn",
    trustedRelays,
    extraRegistries,
    inspectorPort,
  } = {}) {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { freePort } = await import("./connector.mjs");
    const dir = home ?? mkdtempSync(join(tmpdir(), "clawrelay-"));
    const chosen = port ?? (await freePort());
    const vars = await prepareRelayHome({
      home: dir,
      origin: `http://127.0.0.1:${chosen}`,
      ...(iss ? { iss } : {}),
      ...(trustedRelays ? { trustedRelays } : {}),
      ...(extraRegistries ? { extraRegistries } : {}),
    });
    const relay = new LocalRelay(dir, chosen, { ...vars, ...extraVars });
    relay.logLevel = logLevel;
    relay.inspectorPort = inspectorPort ?? 0;
    await relay.restart();
    return relay;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.#running?.pid;
  }

  /** Make (once) an agent identity homed on this relay; returns its directory. */
  agent(id) {
    return ensureAgent(this.home, id, this.url);
  }

  async restart() {
    this.#running = await startRelay({
      home: this.home,
      port: this.port,
      vars: this.vars,
      logLevel: this.logLevel ?? "warn",
      inspectorPort: this.inspectorPort ?? 0,
      onOutput: (text) => {
        this.output.push(text);
        if (this.output.length > 500) this.output.shift();
      },
    });
  }

  /** SIGKILL the whole wrangler/workerd process group: a crash, not a shutdown. */
  async crash() {
    if (!this.#running) return;
    this.#running.kill("SIGKILL");
    await this.#running.exited;
    await this.#running.groupGone();
    this.#running = null;
  }

  async stop() {
    await this.#running?.stop();
    this.#running = null;
  }

  admin(method, path, body) {
    return fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.vars.ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
  }
}
