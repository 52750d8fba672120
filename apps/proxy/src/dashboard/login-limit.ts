import { RelayError } from "@clawrelay/protocol";
import type { Context } from "hono";
import { loginGuardStub } from "../platform/stubs.js";
import type { AppEnv } from "../types.js";

/**
 * Who a sign-in attempt counts against: Cloudflare's `CF-Connecting-IP` (set by the edge, not
 * by the client). An IPv6 address counts by its /64, which one client usually holds whole;
 * without the header (wrangler dev, tests) every attempt shares one bucket.
 */
export function clientAddress(header: string | undefined): string {
  const address = header?.trim().toLowerCase() ?? "";
  if (address === "") return "unknown";
  // IPv4, or IPv4 written as IPv6 ("::ffff:192.0.2.1"): the IPv4 address.
  if (address.includes(".")) return address.slice(address.lastIndexOf(":") + 1);
  const [head = "", tail, ...more] = address.split("::");
  if (more.length > 0) return address;
  const before = head === "" ? [] : head.split(":");
  const after = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - before.length - after.length)).fill("0");
  const groups = [...before, ...zeros, ...after].slice(0, 4);
  return `${groups.map((g) => (Number.parseInt(g, 16) || 0).toString(16)).join(":")}::/64`;
}

const unavailable = () => new RelayError("unavailable", "sign-in is unavailable", { retryAfterSeconds: 5 });

/**
 * The sign-in attempt limit (the `dashboard-login` Directory instance): RELAY_LOGIN_MAX_FAILURES
 * failures per address within RELAY_LOGIN_WINDOW_SECONDS, then 429 rate_limited with Retry-After
 * for every attempt — the right token too, or the limit would still answer a guess — until the
 * window ends. Counting is awaited, so the next attempt always sees it.
 */
export function loginLimit(c: Context<AppEnv>) {
  const config = c.get("config");
  const client = clientAddress(c.req.header("cf-connecting-ip"));
  const windowMs = config.RELAY_LOGIN_WINDOW_SECONDS * 1000;
  const guard = loginGuardStub(c.env);
  return {
    async assertAllowed(): Promise<void> {
      let waitMs: number;
      try {
        waitMs = await guard.loginBlockedFor(client, config.RELAY_LOGIN_MAX_FAILURES, windowMs);
      } catch {
        throw unavailable();
      }
      if (waitMs > 0) {
        throw new RelayError("rate_limited", "too many failed sign-ins; try again later", {
          retryAfterSeconds: Math.ceil(waitMs / 1000),
        });
      }
    },
    async failed(): Promise<void> {
      try {
        await guard.loginFailed(client, windowMs);
      } catch {
        throw unavailable();
      }
    },
    async succeeded(): Promise<void> {
      // Clearing is a courtesy to an admin who mistyped: a sign-in that worked is not failed for it.
      await guard.loginSucceeded(client).catch(() => undefined);
    },
  };
}
