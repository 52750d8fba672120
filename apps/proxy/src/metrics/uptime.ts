import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../types.js";

// Workers freeze the clock outside a request (Date.now() at module scope is 0), so the isolate's
// start is the arrival of the first request it serves.
let isolateStartedAt: number | null = null;

export function noteIsolateStart(now: number): void {
  isolateStartedAt ??= now;
}

export function isolateUptimeSeconds(now: number): number {
  noteIsolateStart(now);
  return Math.max(0, Math.floor((now - (isolateStartedAt ?? now)) / 1000));
}

/** Notes the isolate's first request, for `uptimeSeconds` in /v1/status and /v1/metrics. */
export function markIsolateStart(): MiddlewareHandler<AppEnv> {
  return async function markIsolateStartMiddleware(c, next) {
    noteIsolateStart(c.get("receivedAt") ?? Date.now());
    await next();
  };
}
