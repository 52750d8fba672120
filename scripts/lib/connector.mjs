// A real connector daemon process (`clawrelay connector start`) and its loopback API.
// Used by the demo, the end-to-end tests, the chaos harness and the benchmarks.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { lineSplitter, recordChildLine } from "./child-output.mjs";
import { CLI } from "./relay.mjs";

/** A free loopback port (the OS picks it; closed again before use). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function waitUntil(check, timeoutMs, what, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export class ConnectorProcess {
  logs = [];
  port = 0;
  /** The loopback API's bearer token (PROTOCOL.md §8): the configured one, or the one the daemon made. */
  token = null;
  onLog = null;
  #child = null;

  /** options: agentId, identityDir, relayUrls, hookUrl, dataDir, connectorId?, takeover?, port?, extra?, env? (added to the daemon's environment), nodeArgs?,
   *  entry? (argv run instead of `clawrelay connector start`, before `--config <file>`: the chaos harness's own entry) */
  constructor(options) {
    this.options = options;
    mkdirSync(options.dataDir, { recursive: true });
    this.configPath = join(options.dataDir, "connector.json");
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.#child?.pid;
  }

  get running() {
    return this.#child !== null && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async start() {
    this.port = this.options.port ?? (this.port || (await freePort()));
    const config = {
      agentId: this.options.agentId,
      identityDir: this.options.identityDir,
      relayUrls: this.options.relayUrls,
      dataDir: this.options.dataDir,
      listen: { host: "127.0.0.1", port: this.port },
      hookUrl: this.options.hookUrl,
      takeover: this.options.takeover ?? false,
      ...(this.options.connectorId ? { connectorId: this.options.connectorId } : {}),
      logLevel: "info",
      ...this.options.extra,
    };
    writeFileSync(this.configPath, JSON.stringify(config, null, 2));
    // nodeArgs: flags for node itself (e.g. --cpu-prof for the benchmarks' profiles).
    const nodeArgs = this.options.nodeArgs ?? [];
    const entry = this.options.entry ?? [CLI, "connector", "start"];
    const child = spawn(process.execPath, [...nodeArgs, ...entry, "--config", this.configPath], {
      stdio: ["ignore", "pipe", "pipe"],
      ...(this.options.env ? { env: { ...process.env, ...this.options.env } } : {}),
    });
    this.#child = child;
    // Captured, never echoed: `logs` for the caller, child-output.mjs for a failing test's report.
    const source = `connector ${this.options.connectorId ?? this.options.agentId}`;
    const collect = (line) => {
      this.logs.push(line);
      recordChildLine(source, line);
      this.onLog?.(line);
      if (this.logs.length > 5000) this.logs.splice(0, this.logs.length - 5000);
    };
    // One splitter per stream: a partial stdout line must not absorb a stderr chunk.
    child.stdout.on("data", lineSplitter(collect));
    child.stderr.on("data", lineSplitter(collect));
    await waitUntil(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`connector exited (${child.exitCode}): ${this.logs.slice(-5).join("\n")}`);
        try {
          return (await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
        } catch {
          return false;
        }
      },
      20_000,
      `connector ${this.options.agentId} healthz`,
    );
    // /healthz is the one route open without the token; the daemon has written it by now.
    this.token =
      this.options.extra?.apiToken ??
      this.options.env?.CLAWRELAY_API_TOKEN ??
      readFileSync(join(this.options.dataDir, "api-token"), "utf8").trim();
    return this;
  }

  /** Parsed JSON log lines with a given `event`. */
  events(event) {
    return this.logs.flatMap((line) => {
      try {
        const parsed = JSON.parse(line);
        return parsed.event === event ? [parsed] : [];
      } catch {
        return [];
      }
    });
  }

  async api(method, path, body) {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, json: await res.json() };
  }

  send(to, payload, extra = {}) {
    return this.api("POST", "/v1/outbound", { to, payload, ...extra });
  }

  status() {
    return this.api("GET", "/v1/status");
  }

  /** Graceful stop (SIGTERM): finish writes, close 1000, exit 0. */
  stop() {
    return this.signal("SIGTERM");
  }

  kill() {
    return this.signal("SIGKILL");
  }

  async signal(signal) {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    if (signal === "SIGSTOP" || signal === "SIGCONT") {
      child.kill(signal);
      return null;
    }
    const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    const code = await exited;
    this.#child = null;
    return code;
  }
}
