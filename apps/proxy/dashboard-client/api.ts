import type * as z from "zod/mini";
import { errorSchema } from "./schemas.js";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`${code} (HTTP ${status})`);
  }
}

/** GETs a dashboard data route and parses the answer; a lost session goes back to sign-in. */
export async function getJson<T>(path: string, schema: z.ZodMiniType<T>): Promise<T> {
  const res = await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
  if (res.status === 401) {
    window.location.assign("/dashboard");
    throw new ApiError(401, "signed_out");
  }
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const error = errorSchema.safeParse(body);
    throw new ApiError(res.status, error.success ? error.data.error.code : "http_error");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError(res.status, "unexpected_answer");
  return parsed.data;
}

export const errorText = (error: unknown): string => (error instanceof Error ? error.message : "unknown error");
