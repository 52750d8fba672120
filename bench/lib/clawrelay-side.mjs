// The clawrelay side of the benchmark: a real `wrangler dev` of the relay (LocalRelay), signed
// POSTs from bench senders, real connector processes, and a stand-in agent webhook.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectorProcess, waitUntil } from "../../scripts/lib/connector.mjs";
import { CLI, LocalRelay, ROOT } from "../../scripts/lib/relay.mjs";
import { trackGroup, trackProcess } from "./cleanup.mjs";
import { HookProcess } from "./hook-process.mjs";
import { fetchOnceMore } from "./http.mjs";
import { sendMany } from "./load.mjs";
import { processName, processTree } from "./procstat.mjs";
import { loadSender } from "./signing.mjs";
import { DeliveryTally } from "./stats.mjs";

/**
 * PROTOCOL.md §5 defaults that a benchmark would otherwise measure instead of the relay: the
 * per-sender rate limit (60/min, burst 30) and the queue caps (10,000 items, one sender at most
 * half) stop a 100,000-item backlog. Raised for the bench relay only; BENCHMARKS.md says so.
 * RELAY_LOG_LEVEL: see below; the "logs" scenario runs 32 → 1 again at the default, info.
 */
export const BENCH_RELAY_VARS = {
  // Per-message info lines cost little in production but a lot under `wrangler dev`, whose Node
  // process parses and source-maps every console line; the bench measures their cost apart.
  RELAY_LOG_LEVEL: "warn",
  RELAY_RATE_PER_MINUTE: "1000000",
  RELAY_RATE_BURST: "1000000",
  RELAY_QUEUE_MAX_ITEMS: "250000",
  RELAY_QUEUE_MAX_BYTES: "268435456",
};

/**
 * The daemon runs with the node flags its service units give it (DAEMON_NODE_FLAGS in
 * apps/connector/src/daemon/service-units.ts, read from there so the two cannot drift).
 */
export const DAEMON_NODE_FLAGS = (() => {
  const source = readFileSync(join(ROOT, "apps/connector/src/daemon/service-units.ts"), "utf8");
  const match = /DAEMON_NODE_FLAGS[^=]*=\s*(\[[^\]]*\])/.exec(source);
  if (!match?.[1]) throw new Error("DAEMON_NODE_FLAGS not found in service-units.ts");
  return JSON.parse(match[1]);
})();

/** Connector settings changed from their defaults, for the same reason (inbox cap 10,000). */
export const BENCH_CONNECTOR_CONFIG = { inboxMaxItems: 250_000 };

const STORED_ID = /"messageId":"([^"]+)"/;

export class ClawrelaySide {
  name = "clawrelay";
  #senders = new Map();
  #scratch = mkdtempSync(join(tmpdir(), "clawrelay-bench-connectors-"));
  #serial = 0;
  /** When set, connectors run with --cpu-prof into this directory and stop gracefully so it is written. */
  profileDir = null;

  constructor(relay) {
    this.relay = relay;
  }

  /** `inspectorPort`: expose the Worker's V8 inspector there (for --profile). */
  static async start({ inspectorPort = 0 } = {}) {
    const relay = await LocalRelay.start({ extraVars: BENCH_RELAY_VARS, logLevel: "warn", inspectorPort });
    trackGroup(relay.pid);
    return new ClawrelaySide(relay);
  }

  /** Process groups to meter: the relay's wrangler (node) and its workerd. */
  relayTargets() {
    const tree = () => (this.relay.pid ? processTree(this.relay.pid) : []);
    return [
      { label: "clawrelay wrangler (node)", pids: () => tree().filter((p) => processName(p) === "node") },
      { label: "clawrelay workerd", pids: () => tree().filter((p) => processName(p) === "workerd") },
    ];
  }

  /** Sender identities `bs-<i>` (made once by the CLI), signing their own POSTs. */
  async senders(count) {
    const ids = Array.from({ length: count }, (_, i) => `bs-${i}`);
    await this.ensureAgents(ids.filter((id) => !this.#senders.has(id)));
    for (const id of ids) {
      if (!this.#senders.has(id)) this.#senders.set(id, await loadSender(id, this.relay.agent(id)));
    }
    return ids.map((id) => this.#senders.get(id));
  }

  /** Make agent identities with the CLI, four processes at a time (one by one takes ~0.4 s each). */
  async ensureAgents(ids) {
    const missing = ids.filter((id) => !existsSync(join(this.relay.home, "agents", id, "identity.jwt")));
    const queue = [...missing];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const args = [CLI, "--home", this.relay.home, "agent", "create", id, "--relay", this.relay.url];
        const { code, stderr } = await new Promise((resolve) => {
          const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
          let err = "";
          child.stderr.on("data", (d) => {
            err += d;
          });
          child.once("exit", (exitCode) => resolve({ code: exitCode, stderr: err }));
        });
        if (code !== 0) throw new Error(`clawrelay agent create ${id}: ${stderr.trim().slice(0, 300)}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  messagesUrl(agentId) {
    return `${this.relay.url}/v1/agents/${agentId}/messages`;
  }

  /** One signed POST: 202, or "<status> <error code>" (what went wrong, for the report). */
  async send(sender, agentId, body) {
    const answer = await sender.post(this.messagesUrl(agentId), body);
    if (answer.status === 202) return 202;
    return `${answer.status} ${answer.json?.error?.code ?? answer.json?.raw ?? ""}`.trim();
  }

  /** Make a recipient known before its connector ever connects (admin registration, PROTOCOL §4). */
  async register(agentId) {
    const res = await fetchOnceMore(() => this.relay.admin("PUT", `/v1/admin/agents/${agentId}`));
    if (!res.ok) throw new Error(`registering ${agentId}: ${res.status}`);
  }

  async queueDepth(agentId) {
    const res = await fetchOnceMore(() => this.relay.admin("GET", `/v1/agents/${agentId}/status`));
    const json = await res.json();
    return json.queue?.items ?? 0;
  }

  /**
   * Build a backlog for an offline recipient the way it happens in life: signed POSTs (32
   * senders in closed loops) while no connector is connected. Throws if any send is refused.
   */
  async fill(agentId, count) {
    const senders = await this.senders(32);
    const result = await sendMany(this, senders, [agentId], count, { withTime: false });
    if (result.accepted !== count) throw new Error(`backlog for ${agentId}: ${JSON.stringify(result.errors)}`);
    return result;
  }

  /**
   * Start one connector per agent, all posting to one stand-in webhook (its own process, like an
   * agent) whose calls land in `tally` (keyed by relay item id; latency from the payload's `t`,
   * the POST start). Resolves
   * once every connector holds the active role (unless `waitActive` is false).
   * `connectedAt()` is when the first connector logged its handshake (link_connected); `stored`
   * tallies the items committed to the connectors' inboxes. `relayUrl`: where the connectors
   * link to instead of the relay itself (the cost pass's counting proxy).
   */
  async openReceivers(agentIds, tally, { waitActive = true, extra = {}, hookMode = "ok", relayUrl } = {}) {
    await this.ensureAgents(agentIds);
    const hook = await HookProcess.start(tally, hookMode);
    let connectedAt = null;
    // Items committed to a connector's inbox, from its `inbound_stored` log lines.
    const stored = new DeliveryTally();
    const connectors = agentIds.map((agentId) => {
      const connector = this.connector(agentId, hook.url, extra, undefined, relayUrl);
      connector.onLog = (line) => {
        if (line.includes('"event":"inbound_stored"')) {
          const id = STORED_ID.exec(line)?.[1];
          if (id) stored.arrive(id, null);
        } else if (connectedAt === null && line.includes('"event":"link_connected"')) connectedAt = performance.now();
      };
      return connector;
    });
    await Promise.all(connectors.map((c) => c.start()));
    if (waitActive) await Promise.all(connectors.map((c) => waitForRole(c, "active")));
    return {
      hook,
      connectors,
      connectedAt: () => connectedAt,
      stored,
      pids: () => connectors.map((c) => c.pid).filter(Boolean),
      hookPids: () => [hook.pid].filter(Boolean),
      close: async () => {
        await Promise.all(connectors.map((c) => (this.profileDir ? c.stop() : c.kill())));
        await hook.close();
      },
    };
  }

  connector(agentId, hookUrl, extra = {}, connectorId = undefined, relayUrl = this.relay.url) {
    const connector = new ConnectorProcess({
      agentId,
      identityDir: this.relay.agent(agentId),
      relayUrls: [relayUrl],
      hookUrl,
      dataDir: join(this.#scratch, `${agentId}-${++this.#serial}`),
      ...(connectorId ? { connectorId } : {}),
      nodeArgs: [...DAEMON_NODE_FLAGS, ...(this.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${this.profileDir}`] : [])],
      extra: { ...BENCH_CONNECTOR_CONFIG, ...extra },
    });
    trackProcess(() => connector.pid);
    return connector;
  }

  /** Restart the relay's `wrangler dev` with some vars changed (same state, same port). */
  async restartWith(vars) {
    await this.relay.stop();
    Object.assign(this.relay.vars, vars);
    await this.relay.restart();
    trackGroup(this.relay.pid);
  }

  async stop() {
    await this.relay.stop();
    rmSync(this.#scratch, { recursive: true, force: true });
    rmSync(this.relay.home, { recursive: true, force: true });
  }
}

export async function waitForRole(connector, role, timeoutMs = 30_000) {
  await waitUntil(
    async () => {
      const { json } = await connector.status();
      return json.link?.state === "connected" && json.link?.role === role;
    },
    timeoutMs,
    `connector ${connector.options.agentId} ${role}`,
    50,
  );
}
