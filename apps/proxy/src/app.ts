import { RelayError } from "@clawrelay/protocol";
import { Hono } from "hono";
import { relayConfig } from "./config.js";
import { errorResponse, onError } from "./errors.js";
import { correlationId } from "./middleware/correlation.js";
import { adminRoutes } from "./routes/admin.js";
import { agentRoutes } from "./routes/agents.js";
import type { AppEnv } from "./types.js";
import { VERSION } from "./version.js";

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(correlationId());
  app.use(async function loadConfig(c, next) {
    c.set("config", relayConfig(c.env));
    await next();
  });

  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));
  app.route("/v1/agents", agentRoutes());
  app.route("/v1", adminRoutes());

  app.notFound((c) => errorResponse(new RelayError("not_found", "no such route"), c.get("correlationId") ?? "unknown"));
  app.onError(onError);
  return app;
}
