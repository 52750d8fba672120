import { type ErrorBody, type ErrorCode, isAgentId, RETRY_AFTER_STATUSES, RelayError } from "@clawrelay/protocol";
import type { Context } from "hono";
import { log } from "./log.js";
import type { AppEnv } from "./types.js";

export function errorBody(
  code: ErrorCode,
  message: string,
  correlationId: string,
  retryAfterSeconds?: number,
): ErrorBody {
  return {
    error: { code, message, correlationId, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) },
  };
}

/** The JSON error shape of PROTOCOL.md §4, with `Retry-After` on 429/503/507. */
export function errorResponse(error: RelayError, correlationId: string, extraHeaders?: Headers): Response {
  const headers = new Headers({ "content-type": "application/json", "x-claw-correlation-id": correlationId });
  const allow = extraHeaders?.get("allow");
  if (allow) headers.set("allow", allow);
  let retryAfter = error.retryAfterSeconds;
  if (RETRY_AFTER_STATUSES.has(error.status)) {
    retryAfter = Math.max(1, Math.ceil(retryAfter ?? 1));
    headers.set("retry-after", String(retryAfter));
  }
  return new Response(JSON.stringify(errorBody(error.code, error.message, correlationId, retryAfter)), {
    status: error.status,
    headers,
  });
}

/** One place turns anything thrown into the error shape; unknown errors become a bare 500, never a stack. */
export function onError(err: Error, c: Context<AppEnv>): Response {
  const correlationId = c.get("correlationId") ?? "unknown";
  if (err instanceof RelayError) {
    if (err.status === 401) noteAuthFailure(c, err.code);
    return errorResponse(err, correlationId, c.res.headers);
  }
  log("error", { event: "unhandled_error", correlationId, error: err.name });
  return errorResponse(new RelayError("internal", "internal error"), correlationId);
}

const AGENT_PATH = /^\/v1\/agents\/([^/]+)\//;

/**
 * Count an authentication failure in the addressed agent's session (its metrics show auth
 * failures by code). In the background, after the answer; the session ignores unknown agents.
 */
function noteAuthFailure(c: Context<AppEnv>, code: string): void {
  const agentId = AGENT_PATH.exec(new URL(c.req.url).pathname)?.[1];
  if (!agentId || !isAgentId(agentId)) return;
  const session = c.env.RELAY_SESSION.get(c.env.RELAY_SESSION.idFromName(agentId));
  try {
    c.executionCtx.waitUntil(session.recordAuthFailure(agentId, code).catch(() => undefined));
  } catch {
    // No execution context (a direct app.request in a unit test): skip the count.
  }
}
