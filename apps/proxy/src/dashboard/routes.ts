import { isAgentId, METRICS_SHARDS, RelayError } from "@clawrelay/protocol";
import { Hono, type MiddlewareHandler } from "hono";
import { isAdminRequest, timingSafeEqualText } from "../auth/admin.js";
import { probeRevocations, type RevocationSource } from "../auth/revocations.js";
import { directoryRevocations } from "../auth/signed-request.js";
import { log } from "../log.js";
import { buildStatus } from "../metrics/aggregate.js";
import type { AgentRow } from "../metrics/digest.js";
import { readOperatorView } from "../metrics/fanout.js";
import { isolateUptimeSeconds } from "../metrics/uptime.js";
import { readBodyCapped } from "../middleware/body.js";
import { sessionFor, unwrap } from "../routes/session.js";
import type { AppEnv } from "../types.js";
import { VERSION } from "../version.js";
import { DASHBOARD_SCRIPT } from "./client-script.js";
import { loginLimit } from "./login-limit.js";
import { DASHBOARD_STYLE, loginPage, overviewPage, tracePage } from "./pages.js";
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

  routes.get("/trace", async (c) => {
    if (!(await hasDashboardSession(c))) return c.redirect("/dashboard", 303);
    return c.html(tracePage(), 200, PAGE_HEADERS);
  });

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

  routes.get("/api/overview", session, async (c) => {
    const now = Date.now();
    const view = await readOperatorView(c.env, { now, includeAgents: true, correlationId: c.get("correlationId") });
    const agents = [...(view.merged.agents ?? [])].sort(byLargestQueue);
    const status = buildStatus(view.merged, {
      version: VERSION,
      uptimeSeconds: isolateUptimeSeconds(c.get("receivedAt")),
      now,
      shards: { total: METRICS_SHARDS, failed: view.failed },
      revocations: await probeRevocations(
        revocations(c.env),
        now,
        c.get("config").RELAY_REVOCATION_MAX_STALE_SECONDS * 1000,
      ),
    });
    return c.json({ status, agents: agents.slice(0, DASHBOARD_AGENT_ROWS), agentsTotal: agents.length });
  });

  routes.get("/api/messages/:agent/:messageId", session, async (c) => {
    const agent = c.req.param("agent");
    if (!isAgentId(agent)) throw new RelayError("invalid_request", "not an agent id");
    const caller = { kind: "admin" as const, correlationId: c.get("correlationId") };
    return c.json(unwrap(await sessionFor(c.env, agent).getMessage(agent, caller, c.req.param("messageId"))));
  });

  return routes;
}
