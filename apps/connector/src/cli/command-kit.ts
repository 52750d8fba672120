// What every client command shares: JSON printing, one-line failures, argument parsers.
import { InvalidArgumentError } from "commander";
import { ConfigError } from "../daemon/config.js";
import { type LocalAnswer, TOKEN_HINT } from "../daemon/local-client.js";

export function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function fail(message: string): void {
  process.stderr.write(`clawrelay: ${message}\n`);
  process.exitCode = 1;
}

/** Print a local API answer; a non-2xx answer sets a failing exit code. */
export function report(answer: LocalAnswer): void {
  print(answer.body);
  if (answer.status === 401) process.stderr.write(`clawrelay: ${TOKEN_HINT}\n`);
  if (answer.status < 200 || answer.status >= 300) process.exitCode = 1;
}

export function integer(label: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${label} must be an integer from ${min} to ${max}`);
    }
    return parsed;
  };
}

export function list(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

/** Wrap an async action so failures print one clear line (never a stack) and set exit code 1. */
export function action<Args extends unknown[]>(run: (...args: Args) => Promise<void>) {
  return async (...args: Args) => {
    try {
      await run(...args);
    } catch (error) {
      fail(error instanceof ConfigError ? error.message : (error as Error).message);
    }
  };
}
