import { type ErrorBody, type ErrorCode, RETRY_AFTER_STATUSES, RelayError } from "@clawrelay/protocol";
import type { Context } from "hono";
import { log } from "./log.js";
import { countRefusal } from "./metrics/refusals.js";
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
    if (err.status === 401 || c.get("refused")) noteRefusal(c, err.code);
    return errorResponse(err, correlationId, c.res.headers);
  }
  log("error", { event: "unhandled_error", correlationId, error: err.name });
  return errorResponse(new RelayError("internal", "internal error"), correlationId);
}

/**
 * Count a refused request (every 401, and anything the signed-request checks refused) by code in
 * the metrics shards — never in the relay session the path names (PROTOCOL.md §3): a caller
 * that proved nothing must not be able to create, wake or write a session.
 */
function noteRefusal(c: Context<AppEnv>, code: ErrorCode): void {
  let waitUntil: ((work: Promise<unknown>) => void) | null = null;
  try {
    const ctx = c.executionCtx;
    waitUntil = (work) => ctx.waitUntil(work);
  } catch {
    // No execution context (a bare app.request in a unit test): the count waits for the next flush.
  }
  countRefusal(c.env, code, Date.now(), waitUntil);
}
