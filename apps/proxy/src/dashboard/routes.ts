import { isAgentId, isCorrelationId, METRICS_SHARDS, metricsShardOf, RelayError } from "@clawrelay/protocol";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { isAdminRequest, timingSafeEqualText } from "../auth/admin.js";
import { probeRevocations, type RevocationSource } from "../auth/revocations.js";
import { directoryRevocations } from "../auth/signed-request.js";
import { log } from "../log.js";
import type { ShardRollup } from "../metrics/aggregate.js";
import type { AgentRow } from "../metrics/digest.js";
import { readOperatorView, type ShardFailure } from "../metrics/fanout.js";
import { buildStatus } from "../metrics/operator-status.js";
import { isolateUptimeSeconds } from "../metrics/uptime.js";
import { readBodyCapped } from "../middleware/body.js";
import { metricsShardStub } from "../platform/stubs.js";
import { sessionFor, unwrap } from "../routes/session.js";
import type { AppEnv } from "../types.js";
import { VERSION } from "../version.js";
import { DASHBOARD_SCRIPT } from "./client-script.js";
import { loginLimit } from "./login-limit.js";
import { agentPage, DASHBOARD_STYLE, loginPage, overviewPage, searchPage, tracePage } from "./pages.js";
import { searchMessages } from "./search.js";
import {
  clearedCookieHeader,
  DASHBOARD_COOKIE,
  issueSessionValue,
  readCookie,
  sessionCookieHeader,
  verifySessionValue,
} from "./session-cookie.js";

/** The agents table lists the largest queues first; 10,000 rows would only slow the browser. */
export const DASHBOARD_AGENT_ROWS = 500;
const LOGIN_BODY_MAX_BYTES = 4096;

/** Scripts and styles only from this origin, no framing, forms post only here. */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

async function hasDashboardSession(c: Parameters<MiddlewareHandler<AppEnv>>[0]): Promise<boolean> {
  const adminToken = c.get("config").ADMIN_TOKEN;
  if (!adminToken) return false;
  const value = readCookie(c.req.header("cookie"), DASHBOARD_COOKIE);
  return value !== null && (await verifySessionValue(value, adminToken, Date.now()));
}

/** Dashboard data: the session cookie, or the admin bearer token for scripts. */
function requireDashboardSession(): MiddlewareHandler<AppEnv> {
  return async function requireDashboardSessionMiddleware(c, next) {
    if (isAdminRequest(c.req.header("authorization"), c.get("config").ADMIN_TOKEN) || (await hasDashboardSession(c))) {
      c.header("cache-control", "no-store");
      await next();
      return;
    }
    throw new RelayError("missing_credentials", "sign in at /dashboard");
  };
}

const byLargestQueue = (a: AgentRow, b: AgentRow): number =>
  b.queue.items - a.queue.items || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0);

export function dashboardRoutes(options: { revocations?: (env: Env) => RevocationSource } = {}): Hono<AppEnv> {
  const revocations = options.revocations ?? directoryRevocations;
  const routes = new Hono<AppEnv>();
  const session = requireDashboardSession();

  routes.get("/", async (c) => {
    const html = (await hasDashboardSession(c)) ? overviewPage() : loginPage(false);
    return c.html(html, 200, PAGE_HEADERS);
  });

  for (const [path, page] of [
    ["/trace", tracePage],
    ["/agent", agentPage],
    ["/search", searchPage],
  ] as const) {
    routes.get(path, async (c) => {
      if (!(await hasDashboardSession(c))) return c.redirect("/dashboard", 303);
      return c.html(page(), 200, PAGE_HEADERS);
    });
  }

  routes.post("/login", async (c) => {
    const adminToken = c.get("config").ADMIN_TOKEN;
    const limit = loginLimit(c);
    await limit.assertAllowed();
    const raw = await readBodyCapped(c.req.raw, LOGIN_BODY_MAX_BYTES);
    const token = new URLSearchParams(raw ? new TextDecoder().decode(raw) : "").get("token") ?? "";
    if (!adminToken || !timingSafeEqualText(token, adminToken)) {
      await limit.failed();
      log("warn", { event: "dashboard_login_refused", correlationId: c.get("correlationId") });
      return c.html(loginPage(true), 401, PAGE_HEADERS);
    }
    await limit.succeeded();
    log("info", { event: "dashboard_login", correlationId: c.get("correlationId") });
    c.header("set-cookie", sessionCookieHeader(await issueSessionValue(adminToken, Date.now())));
    return c.redirect("/dashboard", 303);
  });

  routes.post("/logout", (c) => {
    c.header("set-cookie", clearedCookieHeader());
    return c.redirect("/dashboard", 303);
  });

  routes.get("/assets/app.js", (c) =>
    c.body(DASHBOARD_SCRIPT, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "x-content-type-options": "nosniff",
      "cache-control": "no-cache",
    }),
  );
  routes.get("/assets/app.css", (c) =>
    c.body(DASHBOARD_STYLE, 200, {
      "content-type": "text/css; charset=utf-8",
      "x-content-type-options": "nosniff",
      "cache-control": "no-cache",
    }),
  );

  /** The `/v1/status` answer over `merged`, exactly as the admin route builds it. */
  const statusOf = async (c: Context<AppEnv>, merged: ShardRollup, failed: ShardFailure[], now: number) =>
    buildStatus(merged, {
      version: VERSION,
      uptimeSeconds: isolateUptimeSeconds(c.get("receivedAt")),
      now,
      shards: { total: METRICS_SHARDS, failed },
      revocations: await probeRevocations(
        revocations(c.env),
        now,
        c.get("config").RELAY_REVOCATION_MAX_STALE_SECONDS * 1000,
      ),
    });

  routes.get("/api/overview", session, async (c) => {
    const now = Date.now();
    const view = await readOperatorView(c.env, { now, includeAgents: true, correlationId: c.get("correlationId") });
    const agents = [...(view.merged.agents ?? [])].sort(byLargestQueue);
    const status = await statusOf(c, view.merged, view.failed, now);
    return c.json({ status, agents: agents.slice(0, DASHBOARD_AGENT_ROWS), agentsTotal: agents.length });
  });

  /**
   * One agent: its session's live status, and from its own metrics shard its recent failures,
   * its entries of the "needs attention" list and its own traffic series.
   */
  routes.get("/api/agents/:agent", session, async (c) => {
    const agent = c.req.param("agent");
    if (!isAgentId(agent)) throw new RelayError("invalid_request", "not an agent id");
    const now = Date.now();
    const caller = { kind: "admin" as const, correlationId: c.get("correlationId") };
    const shard = metricsShardOf(agent);
    const [status, rollup, rates] = await Promise.all([
      sessionFor(c.env, agent).status(agent, caller),
      metricsShardStub(c.env, shard)
        .rollup(now, false)
        .catch(() => null),
      metricsShardStub(c.env, shard)
        .agentRates(agent, now)
        .catch(() => null),
    ]);
    const failed: ShardFailure[] = rollup ? [] : [{ shard, reason: "error" }];
    const shardStatus = rollup ? await statusOf(c, rollup, failed, now) : null;
    return c.json({
      agentId: agent,
      generatedAt: now,
      status: unwrap(status),
      failures: shardStatus?.recentFailures.filter((f) => f.agentId === agent) ?? [],
      attention: shardStatus?.attention.filter((item) => item.agentId === agent) ?? [],
      // The agent's own traffic series; null until it reported (or when its shard did not answer).
      rates,
    });
  });

  routes.get("/api/search", session, async (c) => {
    const query = (c.req.query("q") ?? "").trim();
    const agent = (c.req.query("agent") ?? "").trim();
    if (!isCorrelationId(query)) throw new RelayError("invalid_request", "search for a message id or a correlation id");
    if (agent !== "" && !isAgentId(agent)) throw new RelayError("invalid_request", "not an agent id");
    return c.json(await searchMessages(c.env, { query, agent: agent || null, correlationId: c.get("correlationId") }));
  });

  routes.get("/api/messages/:agent/:messageId", session, async (c) => {
    const agent = c.req.param("agent");
    if (!isAgentId(agent)) throw new RelayError("invalid_request", "not an agent id");
    const caller = { kind: "admin" as const, correlationId: c.get("correlationId") };
    return c.json(unwrap(await sessionFor(c.env, agent).getMessage(agent, caller, c.req.param("messageId"))));
  });

  return routes;
}
