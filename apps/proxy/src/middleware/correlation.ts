import { HEADERS, isCorrelationId } from "@clawrelay/protocol";
import type { MiddlewareHandler } from "hono";
import { newUlid } from "../platform/ids.js";
import type { AppEnv } from "../types.js";

/**
 * Accept a valid `X-Claw-Correlation-Id`, otherwise make a ULID, and echo it on every answer.
 * An invalid incoming id is replaced rather than refused here: the signed-request check
 * reports it (the id is part of the canonical string) with its own code.
 */
export function correlationId(options: { header?: string } = {}): MiddlewareHandler<AppEnv> {
  const header = options.header ?? HEADERS.correlationId;
  if (!header) throw new Error("correlationId: header name required");
  return async function correlationIdMiddleware(c, next) {
    const incoming = c.req.header(header);
    const id = incoming && isCorrelationId(incoming) ? incoming : newUlid();
    c.set("correlationId", id);
    c.set("receivedAt", Date.now());
    await next();
    // A WebSocket upgrade answer comes from the Durable Object with immutable headers; the
    // correlation id of a connection travels in its log lines instead.
    if (c.res.status === 101) return;
    c.res.headers.set(header, id);
  };
}
