// A real OpenClaw gateway for the tests and `npm run demo:openclaw`: a config of its own in a
// temp folder (loopback only, no control UI, hooks on, the stand-in model as the only
// provider, plugins loaded from local folders), `openclaw gateway run` on the Node 24 of
// scripts/openclaw/install.mjs in its own process group, and a helper that starts a user turn
// through `POST /hooks/agent`. Facts behind each key: docs/OPENCLAW.md.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../lib/connector.mjs";
import { node24Path, OPENCLAW_DIR, openclawEntry, openclawInstalled } from "./install.mjs";
import { STAND_IN_MODEL_ID } from "./stand-in-model.mjs";

export const PROVIDER_ID = "standin";
/** 18–40 s on 2 quiet cores; two gateways booting side by side on a busy machine take longer. */
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;

/**
 * options: model (a started StandInModel), name?, home? (temp folder; made when absent),
 * plugins? [{ id, dir, config }], port?, hooksToken?, hooks? (false: no hooks section),
 * extraConfig? (merged at the top level), readyTimeoutMs? (default 120 s).
 */
export class OpenClawGateway {
  #child = null;
  #exited = null;

  constructor(options) {
    if (!openclawInstalled(options.openclawDir ?? OPENCLAW_DIR))
      throw new Error("OpenClaw is not installed: run `node scripts/openclaw/install.mjs`");
    this.options = options;
    this.name = options.name ?? "gateway";
    this.home = options.home ?? mkdtempSync(join(tmpdir(), `clawrelay-openclaw-${this.name}-`));
    this.stateDir = join(this.home, "state");
    this.configPath = join(this.home, "openclaw.json");
    this.logFile = join(this.home, "gateway.log");
    this.hooksToken = options.hooksToken ?? randomBytes(18).toString("base64url");
    this.gatewayToken = randomBytes(18).toString("base64url");
    this.port = options.port ?? 0;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get hooksUrl() {
    return `${this.url}/hooks/agent`;
  }

  get pid() {
    return this.#child?.pid;
  }

  get running() {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  config() {
    const { model, plugins = [], extraConfig = {} } = this.options;
    return {
      gateway: {
        mode: "local", // no setup prompts
        port: this.port,
        bind: "loopback",
        auth: { mode: "token", token: this.gatewayToken },
        controlUi: { enabled: false },
      },
      // Without `hooks: false`; with it, `clawrelay openclaw setup` writes this section.
      ...(this.options.hooks === false
        ? {}
        : {
            hooks: {
              enabled: true,
              token: this.hooksToken,
              path: "/hooks",
              // The connector names the session (one per peer and conversation), under `hook:`.
              allowRequestSessionKey: true,
              allowedSessionKeyPrefixes: ["hook:"],
            },
          }),
      models: {
        mode: "replace",
        // No remote model catalog: with these two off the gateway talks to loopback only.
        catalogRefresh: { enabled: false },
        providers: {
          [PROVIDER_ID]: {
            baseUrl: model.url,
            apiKey: "stand-in",
            api: "openai-completions",
            models: [
              {
                id: STAND_IN_MODEL_ID,
                name: "Scripted stand-in",
                reasoning: false,
                input: ["text"],
                cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                contextWindow: 200_000,
                maxTokens: 8192,
              },
            ],
          },
        },
      },
      update: { checkOnStart: false },
      agents: {
        defaults: {
          model: { primary: `${PROVIDER_ID}/${STAND_IN_MODEL_ID}` },
          heartbeat: { every: "0m" }, // no turns nobody asked for
        },
      },
      tools: { loopDetection: { enabled: true } },
      logging: { file: join(this.home, "openclaw-file.log") },
      ...(plugins.length > 0
        ? {
            plugins: {
              allow: plugins.map((p) => p.id),
              load: { paths: plugins.map((p) => p.dir) },
              entries: Object.fromEntries(plugins.map((p) => [p.id, { enabled: true, config: p.config ?? {} }])),
            },
          }
        : {}),
      ...extraConfig,
    };
  }

  /** Write `config()` to the config file (start() does, unless the file is there already). */
  writeConfig() {
    mkdirSync(this.home, { recursive: true });
    writeFileSync(this.configPath, JSON.stringify(this.config(), null, 2), { mode: 0o600 });
  }

  /**
   * Spawn the gateway; resolves once `/readyz` answers `{"ready":true}`. A config file already
   * there is used as it is (a tool such as `clawrelay openclaw setup` may have edited it), and
   * the hooks token is read back from it.
   */
  async start() {
    if (this.running) return this;
    if (!this.port) this.port = await freePort();
    mkdirSync(this.stateDir, { recursive: true });
    mkdirSync(join(this.home, "tmp"), { recursive: true });
    if (!existsSync(this.configPath)) this.writeConfig();
    const token = JSON.parse(readFileSync(this.configPath, "utf8")).hooks?.token;
    if (typeof token === "string") this.hooksToken = token;
    const dir = this.options.openclawDir ?? OPENCLAW_DIR;
    const log = openSync(this.logFile, "a");
    const child = spawn(node24Path(dir), [openclawEntry(dir), "gateway", "run", "--port", String(this.port)], {
      cwd: this.home,
      detached: true, // own process group: stop() ends its children too
      stdio: ["ignore", log, log],
      env: {
        PATH: process.env.PATH,
        HOME: this.home,
        TMPDIR: join(this.home, "tmp"),
        OPENCLAW_STATE_DIR: this.stateDir,
        OPENCLAW_CONFIG_PATH: this.configPath,
        OPENCLAW_NO_AUTO_UPDATE: "1",
        OPENCLAW_DISABLE_BONJOUR: "1",
        OPENCLAW_NO_RESPAWN: "1",
        OPENCLAW_SKIP_CHANNELS: "1",
        // One compile cache for every gateway and run (instead of a cold one in each temp
        // TMPDIR). The second variable tells openclaw.mjs not to respawn itself to move the
        // cache into a folder of its own choosing (a whole second process start otherwise).
        NODE_COMPILE_CACHE: join(dir, "compile-cache"),
        OPENCLAW_PACKAGED_COMPILE_CACHE_RESPAWNED: "1",
        NO_COLOR: "1",
      },
    });
    closeSync(log);
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    await this.#waitReady();
    return this;
  }

  async #waitReady() {
    const timeoutMs = this.options.readyTimeoutMs ?? READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let early = null;
    this.#exited.then((e) => {
      early = e;
    });
    for (;;) {
      if (early) throw new Error(`gateway ${this.name} exited (${JSON.stringify(early)}): ${this.logTail()}`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok && (await res.json()).ready === true) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`gateway ${this.name} not ready after ${timeoutMs} ms: ${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  logTail(lines = 20) {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /**
   * SIGTERM, then SIGKILL of the whole group after a bounded wait: a gateway drains running
   * agent turns for up to 315 s on SIGTERM, far longer than any test waits.
   */
  async stop(graceMs = STOP_GRACE_MS) {
    const child = this.#child;
    if (!child) return;
    if (this.running) {
      signalGroup(child.pid, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), graceMs);
      await this.#exited;
      clearTimeout(timer);
    }
    // The group's children (tool runners) may outlive the gateway process itself.
    signalGroup(child.pid, "SIGKILL");
    this.#child = null;
  }

  /** stop(), then remove the temp folder when this gateway made it (not a `home` it was given). */
  async close() {
    await this.stop();
    if (!this.options.home) rmSync(this.home, { recursive: true, force: true });
  }

  async restart() {
    await this.stop();
    return this.start();
  }

  /**
   * Start a user turn, as a person would ask their agent something: `POST /hooks/agent` with
   * the session key (under `hook:`) and the text. Resolves with the status and JSON body.
   *
   * Seen on 2026.9.6 (with a probe plugin; the real-gateway e2e tests rely on it): a turn
   * started with `sessionKey: "hook:test:alice-user"` runs in the session
   * `agent:main:hook:test:alice-user`, and a plugin tool called in it gets exactly that as
   * `ctx.sessionKey` (and `ctx.agentId: "main"`). To post into that session again through
   * `/hooks/agent`, drop the `agent:<agentId>:` scope: the hook takes `hook:test:alice-user`.
   */
  async userTurn(sessionKey, message, extra = {}) {
    const res = await fetch(this.hooksUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${this.hooksToken}`, "content-type": "application/json" },
      body: JSON.stringify({ message, sessionKey, sessionMode: "persistent", deliver: false, ...extra }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}
