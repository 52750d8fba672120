import { RelayError } from "@clawrelay/protocol";
import type { MiddlewareHandler } from "hono";
import { ConfigError, relayConfig } from "./config.js";
import { log } from "./log.js";
import type { AppEnv } from "./types.js";
import { VERSION } from "./version.js";

/**
 * A relay deployed with the dev defaults (RELAY_ORIGIN on loopback, REGISTRY_JWKS `{}`) would
 * accept nobody and sign receipts for an origin no one can reach. Rather than half-work, it
 * refuses everything but `/healthz`, and `/healthz` names each problem by its var.
 */

/** Refusals say when to come back: soon after the deploy that fixes the vars. */
const MISCONFIGURED_RETRY_AFTER_SECONDS = 60;

/**
 * Names that never reach a Worker through Cloudflare's edge (loopback, and the RFC 6761 names
 * reserved for local use and tests): a request on one of them is a local run, where a loopback
 * RELAY_ORIGIN is right.
 */
const LOCAL_ONLY_TLDS: ReadonlySet<string> = new Set(["localhost", "test", "invalid"]);
const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function isLocalOnlyHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "[::1]" || IPV4_LOOPBACK.test(host)) return true;
  return LOCAL_ONLY_TLDS.has(host.slice(host.lastIndexOf(".") + 1));
}

interface ConfigCheck {
  /** Problems wherever the relay runs: a var that does not parse, no trusted registry. */
  problems: readonly string[];
  /** RELAY_ORIGIN when it names a local-only host (right under `wrangler dev` only), else null. */
  localOrigin: string | null;
  /** The per-request fast path: nothing to check. */
  servesAnywhere: boolean;
  /** Whether this env's problems were logged (once per env object, not per request). */
  logged: boolean;
  /** With a local origin: the problems by the origin a request came to (few; bounded anyway). */
  byServedOrigin: Map<string, string[]>;
}

/** Origins a local-origin relay remembers the answer for: `wrangler dev` is reached under a few. */
const MAX_SERVED_ORIGINS = 16;

const checks = new WeakMap<object, ConfigCheck>();

/** Checked once per env object, like the config itself (config.ts). */
function checkConfig(env: Env): ConfigCheck {
  const cached = checks.get(env);
  if (cached) return cached;
  let problems: string[] = [];
  let localOrigin: string | null = null;
  try {
    const config = relayConfig(env);
    const registries = Object.values(config.REGISTRY_JWKS).filter((jwks) => jwks.keys.length > 0);
    if (registries.length === 0) {
      problems.push("REGISTRY_JWKS trusts no registry with a key, so no agent can authenticate");
    }
    if (isLocalOnlyHost(new URL(config.RELAY_ORIGIN).hostname)) localOrigin = config.RELAY_ORIGIN;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems = error.problems;
  }
  const check = {
    problems,
    localOrigin,
    servesAnywhere: problems.length === 0 && localOrigin === null,
    logged: false,
    byServedOrigin: new Map<string, string[]>(),
  };
  checks.set(env, check);
  return check;
}

/** Everything wrong with this env for a request arriving at `requestUrl`; empty when it is fine. */
export function configProblems(env: Env, requestUrl: string): string[] {
  const check = checkConfig(env);
  if (check.servesAnywhere) return [];
  // The answer depends on the origin alone; under `wrangler dev` every request would parse its
  // URL for it (issue 18), so it is remembered per origin (scheme://host:port, cut from the URL).
  const originEnd = requestUrl.indexOf("/", requestUrl.indexOf("//") + 2);
  const origin = originEnd < 0 ? requestUrl : requestUrl.slice(0, originEnd);
  const known = check.byServedOrigin.get(origin);
  if (known) return [...known];
  const served = new URL(requestUrl);
  const problems =
    check.localOrigin === null || isLocalOnlyHost(served.hostname)
      ? [...check.problems]
      : [
          ...check.problems,
          `RELAY_ORIGIN is ${check.localOrigin} (a local address) but this relay is served at ${served.origin}`,
        ];
  if (check.byServedOrigin.size < MAX_SERVED_ORIGINS) check.byServedOrigin.set(origin, problems);
  return [...problems];
}

/**
 * Install before anything that reads the config or touches a Durable Object. A misconfigured
 * relay answers `/healthz` with 503 `misconfigured` and its problems, everything else with 503
 * `unavailable` (the PROTOCOL.md §4 error shape, with Retry-After).
 */
export function configGuard(): MiddlewareHandler<AppEnv> {
  return async function configGuardMiddleware(c, next) {
    const check = checkConfig(c.env);
    if (check.servesAnywhere) return next();
    const problems = configProblems(c.env, c.req.url);
    if (problems.length === 0) return next();
    if (!check.logged) {
      check.logged = true;
      log("error", { event: "misconfigured", correlationId: c.get("correlationId"), problems });
    }
    if (c.req.path === "/healthz" && (c.req.method === "GET" || c.req.method === "HEAD")) {
      c.header("retry-after", String(MISCONFIGURED_RETRY_AFTER_SECONDS));
      return c.json({ status: "misconfigured", version: VERSION, problems }, 503);
    }
    throw new RelayError(
      "unavailable",
      `this relay is misconfigured (GET /healthz lists why): ${problems.join("; ")}`,
      {
        retryAfterSeconds: MISCONFIGURED_RETRY_AFTER_SECONDS,
      },
    );
  };
}
