import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index.js";

/**
 * The Worker's own `fetch`, called in the test's isolate rather than through `exports.default`.
 * vitest-pool-workers 0.15.1 wraps its entrypoint wrapper's prototype in one more Proxy on every
 * construction (workers-sdk#15092, fixed upstream in #15106), and SELF constructs one per request,
 * so each SELF request costs more than the last. Thousands of requests in one file (the model
 * test) need a path whose cost stays flat; the handler, bindings and Durable Objects are the same.
 */
export function fetchDirect(request: Request): Promise<Response> {
  return Promise.resolve(worker.fetch(request, env, createExecutionContext()));
}

export type Fetcher = (request: Request) => Promise<Response>;
