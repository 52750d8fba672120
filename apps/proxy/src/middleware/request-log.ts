import type { MiddlewareHandler } from "hono";
import { log } from "../log.js";
import type { AppEnv } from "../types.js";

/**
 * One line per request at the proxy hop: route, status, time and who called, under the request's
 * correlation id, so a message's trace starts at the edge. The path only (a query never carries
 * anything this relay needs, and must not leak into logs); never a header value.
 */
export function requestLog(options: { skip?: (path: string) => boolean } = {}): MiddlewareHandler<AppEnv> {
  const skip = options.skip ?? ((path: string) => path === "/healthz");
  return async function requestLogMiddleware(c, next) {
    await next();
    const path = c.req.path;
    if (skip(path)) return;
    const caller = c.get("caller");
    log(c.res.status >= 500 ? "error" : "info", {
      event: "request",
      hop: "proxy",
      correlationId: c.get("correlationId"),
      ...(caller ? { agentId: caller.agentId } : {}),
      method: c.req.method,
      path,
      status: c.res.status,
      ms: Date.now() - c.get("receivedAt"),
    });
  };
}
