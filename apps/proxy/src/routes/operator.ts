import { METRICS_SHARDS } from "@clawrelay/protocol";
import { type Context, Hono } from "hono";
import { requireAdmin } from "../auth/admin.js";
import { probeRevocations, type RevocationSource } from "../auth/revocations.js";
import { directoryRevocations } from "../auth/signed-request.js";
import { readOperatorView } from "../metrics/fanout.js";
import { buildStatus } from "../metrics/operator-status.js";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "../metrics/prometheus.js";
import { isolateUptimeSeconds } from "../metrics/uptime.js";
import type { AppEnv } from "../types.js";
import { VERSION } from "../version.js";

/**
 * The admin views over every agent. Both read the metrics shards (one RPC each, in parallel),
 * never a relay session: a scrape costs 16 small reads whatever the number of agents.
 */
export function operatorRoutes(options: { revocations?: (env: Env) => RevocationSource } = {}): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const admin = requireAdmin();
  const revocations = options.revocations ?? directoryRevocations;
  /** What an agent request would meet in this isolate right now (refreshing the list when due). */
  const revocationHealth = (c: Context<AppEnv>, now: number) =>
    probeRevocations(revocations(c.env), now, c.get("config").RELAY_REVOCATION_MAX_STALE_SECONDS * 1000);

  routes.get("/status", admin, async (c) => {
    const now = Date.now();
    const view = await readOperatorView(c.env, { now, includeAgents: false, correlationId: c.get("correlationId") });
    return c.json(
      buildStatus(view.merged, {
        version: VERSION,
        uptimeSeconds: isolateUptimeSeconds(c.get("receivedAt")),
        now,
        shards: { total: METRICS_SHARDS, failed: view.failed },
        revocations: await revocationHealth(c, now),
      }),
    );
  });

  routes.get("/metrics", admin, async (c) => {
    const now = Date.now();
    const agentSeries = c.get("config").RELAY_METRICS_AGENT_SERIES;
    const view = await readOperatorView(c.env, {
      now,
      includeAgents: agentSeries !== "none",
      ...(typeof agentSeries === "number" ? { agentLimit: agentSeries } : {}),
      correlationId: c.get("correlationId"),
    });
    const text = renderPrometheus(view.merged, {
      agentSeries,
      version: VERSION,
      uptimeSeconds: isolateUptimeSeconds(c.get("receivedAt")),
      now,
      shards: METRICS_SHARDS,
      failed: view.failed,
      revocations: await revocationHealth(c, now),
    });
    return c.body(text, 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });

  return routes;
}
