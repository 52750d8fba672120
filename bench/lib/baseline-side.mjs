// The baseline side: bench/baseline's minimal Worker under its own `wrangler dev`, plain POSTs,
// and plain WebSocket clients in this process standing in for the connectors.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/lib/connector.mjs";
import { ROOT, waitForHealth } from "../../scripts/lib/relay.mjs";
import { trackGroup } from "./cleanup.mjs";
import { fetchOnceMore } from "./http.mjs";
import { messageBody } from "./load.mjs";
import { processName, processTree } from "./procstat.mjs";

const WebSocket = createRequire(join(ROOT, "apps/connector/package.json"))("ws");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
/** How long a receiver's upgrade may go unanswered, and how often it is tried. */
const UPGRADE_DEADLINE_MS = 10_000;
const UPGRADE_ATTEMPTS = 3;

export class BaselineSide {
  name = "baseline";

  constructor(child, url, home) {
    this.child = child;
    this.url = url;
    this.home = home;
    this.exited = new Promise((resolve) => child.once("exit", resolve));
  }

  static async start() {
    const home = mkdtempSync(join(tmpdir(), "clawrelay-bench-baseline-"));
    const port = await freePort();
    const args = [
      "dev",
      "--config",
      join(ROOT, "bench/baseline/wrangler.toml"),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      "0",
      "--persist-to",
      join(home, "state"),
      "--log-level",
      "warn",
      "--show-interactive-dev-session=false",
    ];
    const output = [];
    const child = spawn(WRANGLER, args, {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
    });
    trackGroup(child.pid);
    for (const stream of [child.stdout, child.stderr]) stream.on("data", (d) => output.push(String(d)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForHealth(url);
    } catch (error) {
      throw new Error(`baseline wrangler dev did not start: ${error.message}\n${output.join("").slice(-2000)}`);
    }
    return new BaselineSide(child, url, home);
  }

  relayTargets() {
    const tree = () => processTree(this.child.pid);
    return [
      { label: "baseline wrangler (node)", pids: () => tree().filter((p) => processName(p) === "node") },
      { label: "baseline workerd", pids: () => tree().filter((p) => processName(p) === "workerd") },
    ];
  }

  /** Baseline senders sign nothing: a sender is just a name. */
  async senders(count) {
    return Array.from({ length: count }, (_, i) => ({ agentId: `bs-${i}` }));
  }

  async send(_sender, agentId, body) {
    const res = await fetchOnceMore(() =>
      fetch(`${this.url}/v1/agents/${agentId}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(30_000),
      }),
    );
    await res.arrayBuffer();
    return res.status;
  }

  /** A recipient needs no registration here. */
  async register() {}

  /** The backlog is made inside the Durable Object: only its drain is measured. */
  async fill(agentId, count) {
    const res = await fetch(`${this.url}/v1/agents/${agentId}/fill?count=${count}`, {
      method: "POST",
      body: messageBody(0, false),
      signal: AbortSignal.timeout(300_000),
    });
    if (!res.ok) throw new Error(`baseline fill: ${res.status}`);
    await res.arrayBuffer();
  }

  /**
   * One WebSocket client per agent; every pushed item lands in `tally`, keyed by agent and seq.
   * Frames are plain JSON with no ack: the baseline's receiver does the least the trip needs.
   */
  async openReceivers(agentIds, tally) {
    // The baseline pushes its backlog while it answers the upgrade: its drain starts here.
    const requestedAt = performance.now();
    const sockets = await Promise.all(agentIds.map((agentId) => this.#openReceiver(agentId, tally)));
    return {
      connectedAt: () => requestedAt,
      pids: () => [],
      hookPids: () => [],
      close: async () => {
        await Promise.all(
          sockets.map(
            (ws) =>
              new Promise((resolve) => {
                ws.once("close", resolve);
                ws.close(1000);
                setTimeout(() => {
                  ws.terminate();
                  resolve();
                }, 2000).unref();
              }),
          ),
        );
      },
    };
  }

  /**
   * One receiver's socket. `wrangler dev` sometimes leaves an upgrade unanswered when many
   * arrive at once (seen in CI: 7 of 32 TCP connections open with the request sent and no 101,
   * workerd idle, for the 10 minutes until the watchdog stopped the run). A connector has a
   * handshake deadline and reconnects; this stand-in does the same, and says so on stderr, so
   * the run neither hangs nor hides it. The measurement starts after every receiver is open.
   */
  async #openReceiver(agentId, tally, attempt = 1) {
    try {
      return await new Promise((resolve, reject) => {
        const ws = new WebSocket(`${this.url.replace(/^http/, "ws")}/v1/agents/${agentId}/connect`, {
          perMessageDeflate: false,
          maxPayload: 2 * 1024 * 1024,
          handshakeTimeout: UPGRADE_DEADLINE_MS,
        });
        ws.on("message", (data) => {
          const frame = JSON.parse(data.toString("utf8"));
          for (const item of frame.items) {
            // The baseline stores the whole send body: the message payload is inside it.
            const t = item.payload?.payload?.t;
            tally.arrive(`${agentId}:${item.seq}`, typeof t === "number" ? t : null);
          }
        });
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    } catch (error) {
      if (attempt >= UPGRADE_ATTEMPTS) throw error;
      process.stderr.write(
        `[bench] baseline receiver ${agentId}: upgrade failed (${error.message}); opening it again (${attempt + 1}/${UPGRADE_ATTEMPTS})\n`,
      );
      return this.#openReceiver(agentId, tally, attempt + 1);
    }
  }

  async stop() {
    try {
      process.kill(-this.child.pid, "SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-this.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5000);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.home, { recursive: true, force: true });
  }
}
