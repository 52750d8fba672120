import { RelayError } from "@clawrelay/protocol";
import { Hono } from "hono";
import type { SignedRequestOptions } from "./auth/signed-request.js";
import { relayConfig } from "./config.js";
import { configGuard } from "./config-guard.js";
import { dashboardRoutes } from "./dashboard/routes.js";
import { errorResponse, onError } from "./errors.js";
import { markIsolateStart } from "./metrics/uptime.js";
import { correlationId } from "./middleware/correlation.js";
import { requestLog } from "./middleware/request-log.js";
import { adminRoutes } from "./routes/admin.js";
import { agentRoutes } from "./routes/agents.js";
import { operatorRoutes } from "./routes/operator.js";
import { receiptRoutes } from "./routes/receipts.js";
import type { AppEnv } from "./types.js";
import { VERSION } from "./version.js";

/**
 * Each routed path and the methods it answers, read from the app's own route table (so a new
 * route needs no second list): middleware (`use`, method ALL) is not a route.
 */
function methodsByPath(app: Hono<AppEnv>): Map<string, string[]> {
  const byPath = new Map<string, Set<string>>();
  for (const route of app.routes) {
    if (route.method === "ALL") continue;
    const methods = byPath.get(route.path) ?? new Set<string>();
    methods.add(route.method);
    byPath.set(route.path, methods);
  }
  return new Map([...byPath].map(([path, methods]) => [path, [...methods].sort()]));
}

/** What the app reads revocations from (tests give a failing one); defaults to the Directory. */
export type AppOptions = Pick<SignedRequestOptions, "revocations">;

export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(correlationId());
  app.use(markIsolateStart());
  app.use(requestLog());
  // Before the config is used or any Durable Object touched: a relay deployed with the dev
  // defaults refuses service, and answers /healthz itself with what is wrong.
  app.use(configGuard());
  app.use(async function loadConfig(c, next) {
    c.set("config", relayConfig(c.env));
    await next();
  });

  // Reached only with a good config; a misconfigured one is answered by configGuard (503).
  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));
  app.route("/v1/agents", agentRoutes(options));
  app.route("/v1", adminRoutes());
  app.route("/v1", operatorRoutes(options));
  app.route("/dashboard", dashboardRoutes(options));
  app.route("/", receiptRoutes());

  // A known path with another method: 405 with Allow, in the JSON error shape.
  for (const [path, allowed] of methodsByPath(app)) {
    app.all(path, (c) => {
      c.header("allow", allowed.join(", "));
      throw new RelayError("method_not_allowed", `use ${allowed.join(" or ")} on this path`);
    });
  }

  app.notFound((c) => errorResponse(new RelayError("not_found", "no such route"), c.get("correlationId") ?? "unknown"));
  app.onError(onError);
  return app;
}
