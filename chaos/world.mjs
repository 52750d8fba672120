// The chaos harness's world: one real `wrangler dev` relay (state in a temporary directory),
// eight sender agents and three recipient agents, each with real connector processes and a
// stand-in webhook, plus the bursts of traffic and the "everything has settled" wait.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectorProcess, waitUntil } from "../scripts/lib/connector.mjs";
import { StandInHook } from "../scripts/lib/hook.mjs";
import { LocalRelay } from "../scripts/lib/relay.mjs";
import { Ledger } from "./ledger.mjs";
import { logTap, pace, within } from "./util.mjs";

export const SENDER_COUNT = 8;
const PRIORITIES = ["critical", "normal", "normal", "low"];

/**
 * Relay vars: rate limits out of the way (the harness measures loss, not throttling); the ack
 * timeout scaled from 30 s to 3 s, so a stalled connector's items time out and back off while
 * its socket is still open. The failover time stays at its default (10 s, PROTOCOL.md §6), and
 * the stale check too (60 s), so that a stalled active connector with a standby is replaced by
 * the failover rule, as in production: `sleep_active` bounds how long that takes.
 */
const RELAY_VARS = {
  RELAY_RATE_PER_MINUTE: "1000000",
  RELAY_RATE_BURST: "1000000",
  RELAY_ACK_TIMEOUT_MS: "3000",
};

/** Connector timings scaled down from the defaults so that each fault heals in seconds. */
const CONNECTOR_TIMINGS = {
  pingIntervalMs: 1000,
  pongTimeoutMs: 4000,
  reconnectMinMs: 100,
  reconnectMaxMs: 1000,
  connectTimeoutMs: 5000,
  relayTimeoutMs: 5000,
  outboxBackoffBaseMs: 100,
  outboxBackoffMaxMs: 1000,
  outboxBreakerOpenMs: 1000,
  hookTimeoutMs: 4000,
  hookBackoffBaseMs: 100,
  hookBackoffMaxMs: 2000,
  hookBreakerOpenMs: 1000,
  shutdownGraceMs: 1000,
};

/** The hook settings left at their defaults for `hook_outage_long` (PROTOCOL.md §8 hook retry budget). */
const DEFAULT_HOOK_TIMINGS = Object.fromEntries(
  Object.entries(CONNECTOR_TIMINGS).filter(([key]) => !key.startsWith("hook")),
);

export class World {
  ledger = new Ledger();
  /** @type {{ id: string, connector: ConnectorProcess, hook: StandInHook, tap: ReturnType<typeof logTap> }[]} */
  senders = [];
  /** @type {Record<string, { id: string, connector: ConnectorProcess, hook: StandInHook, tap: ReturnType<typeof logTap>, name: string }>} */
  nodes = {};
  /** The fault and cycle under way, stamped on every message sent. */
  current = { fault: "setup", cycle: 0 };

  constructor({ random, log, keep }) {
    this.random = random;
    this.log = log;
    this.keep = keep;
    this.scratch = mkdtempSync(join(tmpdir(), "clawrelay-chaos-"));
  }

  async start() {
    this.relay = await LocalRelay.start({ home: join(this.scratch, "relay"), extraVars: RELAY_VARS });
    this.log(`relay ${this.relay.url}, state in ${this.scratch}`);
    const senders = Array.from({ length: SENDER_COUNT }, (_, i) => `chaos-s${i + 1}`);
    this.senders = await Promise.all(senders.map((id) => this.#node(id, id)));
    // r-main takes relay faults and webhook faults; r-kill is killed at chosen points;
    // r-fo has two connectors, one active and one standby.
    // A short hook retry budget, so that long webhook outages dead-letter some messages and the
    // terminal-receipt path back to the senders is exercised too.
    this.nodes.main = await this.#node("chaos-r-main", "r-main", {
      extra: { ...CONNECTOR_TIMINGS, hookMaxAttempts: 6 },
    });
    this.nodes.kill = await this.#node("chaos-r-kill", "r-kill");
    // r-hook takes the long webhook outage at the default hook settings (retry budget, breaker).
    this.nodes.hook = await this.#node("chaos-r-hook", "r-hook", { extra: DEFAULT_HOOK_TIMINGS });
    this.nodes.foA = await this.#node("chaos-r-fo", "r-fo-a", { connectorId: "r-fo-a" });
    await this.waitForRole("chaos-r-fo", "r-fo-a", "active");
    this.nodes.foB = await this.#node("chaos-r-fo", "r-fo-b", { connectorId: "r-fo-b" });
    await this.waitForRole("chaos-r-fo", "r-fo-b", "standby");
    await this.settle("setup");
  }

  async #node(agentId, name, options = {}) {
    const hook = await new StandInHook().start();
    this.ledger.watch(hook, name, agentId);
    const connector = new ConnectorProcess({
      agentId,
      identityDir: this.relay.agent(agentId),
      relayUrls: [this.relay.url],
      hookUrl: hook.url,
      dataDir: join(this.scratch, "connectors", name),
      extra: CONNECTOR_TIMINGS,
      ...options,
    });
    const tap = logTap(connector);
    await connector.start();
    return { id: agentId, name, connector, hook, tap };
  }

  /** All connector processes of the world. */
  allNodes() {
    return [...this.senders, ...Object.values(this.nodes)];
  }

  async relayStatus(agentId) {
    const res = await this.relay.admin("GET", `/v1/agents/${agentId}/status`);
    if (!res.ok) throw new Error(`relay status for ${agentId}: HTTP ${res.status}`);
    return res.json();
  }

  /** The agent's two connectors as [active, standby] by the relay's status, once both are connected. */
  async activeAndStandby(agentId, nodes) {
    await waitUntil(
      async () => {
        const status = await this.relayStatus(agentId).catch(() => null);
        const roles = new Set(status?.connections.map((c) => c.role) ?? []);
        return roles.has("active") && roles.has("standby");
      },
      30_000,
      `${agentId} to have an active and a standby connector`,
      100,
    );
    const status = await this.relayStatus(agentId);
    const activeName = status.connections.find((c) => c.role === "active")?.connectorId;
    return activeName === nodes[1].name ? [nodes[1], nodes[0]] : [nodes[0], nodes[1]];
  }

  async waitForRole(agentId, connectorId, role, timeoutMs = 30_000) {
    await waitUntil(
      async () => {
        try {
          const status = await this.relayStatus(agentId);
          return status.connections.some((c) => c.connectorId === connectorId && c.role === role);
        } catch {
          return false;
        }
      },
      timeoutMs,
      `${connectorId} to be ${role} at the relay`,
      100,
    );
  }

  /**
   * Eight senders at once, each sending `perSender` messages to `to`, paced a few ms apart so the
   * burst is still going while a fault strikes. With `until`, a sender stops early once it holds.
   * Resolves when every send has been answered.
   */
  burst(to, perSender, { until } = {}) {
    return Promise.all(
      this.senders.map(async (sender) => {
        for (let i = 0; i < perSender && !until?.(); i++) {
          await this.sendOne(sender, to);
          await pace(this.random.int(5, 40));
        }
      }),
    );
  }

  async sendOne(sender, to) {
    const n = this.ledger.nextN();
    const priority = this.random.pick(PRIORITIES);
    const { fault, cycle } = this.current;
    let answer;
    try {
      answer = await sender.connector.send(to, { chaos: true, n, from: sender.id, fault, cycle }, { priority });
    } catch {
      this.ledger.refused++;
      return;
    }
    if (answer.status < 200 || answer.status > 299) {
      this.ledger.refused++;
      return;
    }
    this.ledger.sent({
      n,
      from: sender.id,
      to,
      priority,
      fault,
      cycle,
      outboundId: answer.json.outboundId,
      correlationId: answer.json.correlationId,
      sentAt: Date.now(),
    });
  }

  /**
   * Wait until nothing is left anywhere: every message answered 2xx reached a webhook or has a
   * terminal receipt, every running connector's inbox, outbox and report queue is empty, and the
   * relay holds nothing for any agent. Only then can no later delivery change the figures.
   */
  async settle(what, timeoutMs = 120_000) {
    let last = "";
    const began = Date.now();
    try {
      await waitUntil(
        async () => {
          const lost = this.ledger.lost().length;
          if (lost > 0) {
            last = `${lost} message(s) neither delivered nor terminally receipted`;
            return false;
          }
          for (const node of this.allNodes()) {
            if (!node.connector.running) continue;
            const { json } = await node.connector.status();
            const { counts, link } = json;
            const busy = counts.inboxPending + counts.outbox.queued + counts.outbox.sending + counts.pendingReports > 0;
            if (busy || link.state !== "connected") {
              last = `${node.name}: link ${link.state}, inbox ${counts.inboxPending}, outbox ${counts.outbox.queued}+${counts.outbox.sending}, reports ${counts.pendingReports}`;
              return false;
            }
          }
          const agents = new Set(this.allNodes().map((node) => node.id));
          for (const agentId of agents) {
            const status = await this.relayStatus(agentId);
            if (status.queue.items > 0) {
              last = `relay still holds ${status.queue.items} item(s) for ${agentId}`;
              return false;
            }
          }
          return true;
        },
        timeoutMs,
        `${what} to settle`,
        250,
      );
    } catch (error) {
      throw new Error(`${error.message} (last: ${last})`);
    }
    return { ms: Date.now() - began, last };
  }

  /** Keep the evidence of a failed run: every connector's recent log lines and the relay's output. */
  dumpLogs() {
    const dir = join(this.scratch, "logs");
    mkdirSync(dir, { recursive: true });
    for (const node of this.allNodes())
      writeFileSync(join(dir, `${node.name}.log`), `${node.connector.logs.join("\n")}\n`);
    if (this.relay) writeFileSync(join(dir, "relay.log"), this.relay.output.join(""));
    this.keep = true;
    return dir;
  }

  /** End every process of the world (once, whoever asks first: the run's end or a signal). */
  close() {
    this.closing ??= (async () => {
      for (const node of this.allNodes()) {
        await node.connector.signal("SIGCONT").catch(() => undefined);
        await within(node.connector.kill(), 10_000, `${node.name} to die`).catch(() => undefined);
        await within(node.hook.close(), 10_000, `${node.name}'s webhook to close`).catch(() => undefined);
      }
      await within(this.relay?.stop() ?? Promise.resolve(), 30_000, "wrangler dev to stop").catch(() => undefined);
      if (!this.keep) rmSync(this.scratch, { recursive: true, force: true });
    })();
    return this.closing;
  }
}
