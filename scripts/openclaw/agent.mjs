// An agent as a person runs it with clawrelay and OpenClaw: a real OpenClaw gateway (its model
// a scripted stand-in), the clawrelay plugin loaded into it, and a real connector in the
// `openclaw` hook format delivering into the gateway's `/hooks/agent`. Used by the real-gateway
// e2e tests, `npm run demo:openclaw` and the OpenClaw bridge benchmark.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConnectorProcess, freePort } from "../lib/connector.mjs";
import { ROOT } from "../lib/relay.mjs";
import { OpenClawGateway } from "./gateway.mjs";
import { StandInModel } from "./stand-in-model.mjs";

export const PLUGIN_DIR = join(ROOT, "apps/openclaw-plugin");

/** The plugin's id, as its manifest names it. */
export function pluginId(dir = PLUGIN_DIR) {
  const manifest = join(dir, "openclaw.plugin.json");
  if (!existsSync(manifest)) throw new Error(`no OpenClaw plugin at ${dir} (openclaw.plugin.json missing)`);
  return JSON.parse(readFileSync(manifest, "utf8")).id;
}

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

  /** The model first (a gateway caches a failed model probe for 5 minutes), then ports and config. */
  async prepare() {
    const { relay, dataDir } = this.options;
    await this.model.start();
    const connectorPort = await freePort();
    const pluginDir = this.options.pluginDir ?? PLUGIN_DIR;
    this.gateway = new OpenClawGateway({
      model: this.model,
      name: this.id,
      home: join(dataDir, "openclaw"),
      port: await freePort(),
      plugins: [
        {
          id: pluginId(pluginDir),
          dir: pluginDir,
          // The connector makes its API token on first start; the plugin reads it at each call.
          config: { connectorUrl: `http://127.0.0.1:${connectorPort}`, apiTokenFile: join(dataDir, "api-token") },
        },
      ],
    });
    this.connector = new ConnectorProcess({
      agentId: this.id,
      identityDir: relay.agent(this.id),
      relayUrls: [relay.url],
      dataDir,
      port: connectorPort,
      connectorId: `${this.id}-openclaw`,
      extra: {
        hookFormat: "openclaw",
        openclaw: { url: this.gateway.url, token: this.gateway.hooksToken, ...this.options.openclaw },
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
