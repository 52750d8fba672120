import { PROTOCOL_LIMITS } from "@clawrelay/protocol";
import { CliError } from "./errors.js";

const DAY_SECONDS = 86_400;
export const MAX_TOKEN_DAYS = PROTOCOL_LIMITS.tokenMaxLifetimeSeconds / DAY_SECONDS;

export function wholeNumber(value: string, option: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || parsed < min || parsed > max) {
    throw new CliError(`${option} must be a whole number from ${min} to ${max} (got "${value}")`);
  }
  return parsed;
}

/** Token lifetime in seconds from `--days`; the protocol caps it at 90 days. */
export function lifetimeFromDays(days: string | undefined, fallbackDays: number): number {
  return (days === undefined ? fallbackDays : wholeNumber(days, "--days", 1, MAX_TOKEN_DAYS)) * DAY_SECONDS;
}

/** Commander reducer for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Audience travels as the token's `aud`: printable ASCII, no spaces. */
export function checkAudience(value: string): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(value))
    throw new CliError("--audience must be 1–128 printable characters without spaces");
  return value;
}
