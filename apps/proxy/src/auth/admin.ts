import { RelayError } from "@clawrelay/protocol";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../types.js";

const encoder = new TextEncoder();

/** Constant-time comparison of two strings (length leaks, content does not). */
export function timingSafeEqualText(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  // workerd's crypto.subtle.timingSafeEqual requires equal lengths; compare against self to keep timing flat.
  if (left.byteLength !== right.byteLength) {
    crypto.subtle.timingSafeEqual(left, left);
    return false;
  }
  return crypto.subtle.timingSafeEqual(left, right);
}

/** `Authorization: Bearer <ADMIN_TOKEN>`; also reports whether the request is admin without failing. */
export function isAdminRequest(authorization: string | undefined, adminToken: string | undefined): boolean {
  if (!adminToken || !authorization?.startsWith("Bearer ")) return false;
  return timingSafeEqualText(authorization.slice("Bearer ".length), adminToken);
}

export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminMiddleware(c, next) {
    const authorization = c.req.header("authorization");
    if (!authorization) throw new RelayError("missing_credentials", "admin bearer token required");
    if (!isAdminRequest(authorization, c.get("config").ADMIN_TOKEN)) {
      throw new RelayError("invalid_token", "admin bearer token rejected");
    }
    await next();
  };
}
