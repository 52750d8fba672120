// An agent as a person runs it with clawrelay and OpenClaw: a real OpenClaw gateway (its model
// a scripted stand-in), the clawrelay plugin loaded into it, and a real connector in the
// `openclaw` hook format delivering into the gateway's `/hooks/agent`, configured together by
// `clawrelay openclaw setup`. Used by the real-gateway e2e tests, `npm run demo:openclaw` and
// the OpenClaw bridge benchmark.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConnectorProcess, freePort } from "../lib/connector.mjs";
import { cli, ROOT } from "../lib/relay.mjs";
import { OpenClawGateway } from "./gateway.mjs";
import { StandInModel } from "./stand-in-model.mjs";

export const PLUGIN_DIR = join(ROOT, "apps/openclaw-plugin");

/**
 * options: id (the clawrelay agent id), relay (a LocalRelay), dataDir, script (the stand-in
 * model's), connectorExtra? (connector config fields), openclaw? (fields of its `openclaw`
 * section), pluginDir?, maxToolCalls?, onConnectorLog?
 */
export class OpenClawAgent {
  constructor(options) {
    this.options = options;
    this.id = options.id;
    mkdirSync(options.dataDir, { recursive: true });
    this.model = new StandInModel({ script: options.script, maxToolCalls: options.maxToolCalls ?? 50 });
  }

  /**
   * The model first (a gateway caches a failed model probe for 5 minutes), then the configs the
   * way a person makes them: a gateway config without hooks or plugin and a bare connector
   * config, joined by `clawrelay openclaw setup` (hooks, the plugin and the connector's
   * openclaw format). The gateway then starts on exactly what setup wrote; the connector on
   * setup's sections plus the test's own fields.
   */
  async prepare() {
    const { relay, dataDir } = this.options;
    await this.model.start();
    const connectorPort = await freePort();
    this.gateway = new OpenClawGateway({
      model: this.model,
      name: this.id,
      home: join(dataDir, "openclaw"),
      port: await freePort(),
      hooks: false,
      // An allow list keeps the gateway from loading every bundled plugin; setup adds clawrelay.
      extraConfig: { plugins: { allow: [] } },
    });
    this.gateway.writeConfig();
    const identityDir = relay.agent(this.id);
    // ConnectorProcess writes its config to this same file on each start, from its options.
    const connectorConfig = join(dataDir, "connector.json");
    const bare = {
      agentId: this.id,
      identityDir,
      relayUrls: [relay.url],
      dataDir,
      listen: { host: "127.0.0.1", port: connectorPort },
    };
    writeFileSync(connectorConfig, JSON.stringify(bare, null, 2), { mode: 0o600 });
    cli([
      "openclaw",
      "setup",
      "--config",
      connectorConfig,
      "--gateway",
      this.gateway.url,
      "--openclaw-config",
      this.gateway.configPath,
      "--plugin-dir",
      this.options.pluginDir ?? PLUGIN_DIR,
    ]);
    const setUp = JSON.parse(readFileSync(connectorConfig, "utf8"));
    this.connector = new ConnectorProcess({
      agentId: this.id,
      identityDir,
      relayUrls: [relay.url],
      dataDir,
      port: connectorPort,
      connectorId: `${this.id}-openclaw`,
      extra: {
        hookFormat: setUp.hookFormat,
        openclaw: { ...setUp.openclaw, ...this.options.openclaw },
        ...this.options.connectorExtra,
      },
    });
    if (this.options.onConnectorLog) this.connector.onLog = this.options.onConnectorLog;
    return this;
  }

  /** The gateway (18–40 s to ready) and the connector, side by side. */
  async start() {
    if (!this.gateway) await this.prepare();
    await Promise.all([this.gateway.start(), this.connector.start()]);
    return this;
  }

  /** The hooks token the connector sends (e.g. a wrong one), applied on the connector's next start. */
  setConnectorHooksToken(token) {
    this.connector.options.extra.openclaw.token = token;
  }

  /** A person asks this agent something, in the session `sessionKey` (under `hook:`). */
  ask(sessionKey, text, extra) {
    return this.gateway.userTurn(sessionKey, text, extra);
  }

  async close() {
    await Promise.allSettled([this.connector?.kill(), this.gateway?.stop()]);
    await this.model.close();
  }
}

/** Start every agent at once: two gateways boot in about the time of one. */
export async function startAgents(agents) {
  await Promise.all(agents.map((a) => a.prepare()));
  const results = await Promise.allSettled(agents.map((a) => a.start()));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.allSettled(agents.map((a) => a.close()));
    throw failed.reason;
  }
  return agents;
}
