// What every client command shares: JSON or human printing, one-line failures, argument parsers.
import { InvalidArgumentError } from "commander";
import { ConfigError } from "../daemon/config.js";
import { failureLine, type LocalAnswer, TOKEN_HINT } from "../daemon/local-client.js";
import { CliError, EXIT } from "./errors.js";
import { colours, type OutputOptions, type Palette, printJson, wantsHuman } from "./output.js";

export function print(value: unknown): void {
  printJson(value);
}

export function fail(message: string, exitCode: number = EXIT.failed): void {
  process.stderr.write(`clawrelay: ${message}\n`);
  process.exitCode = exitCode;
}

/** Renders a successful answer for a person; null when it does not know the shape (JSON then). */
export type HumanRender = (body: unknown, now: number, palette: Palette) => string | null;

/**
 * Print a local API answer; a non-2xx answer sets a failing exit code. With `human`, a terminal
 * without --json gets the rendered answer, and a failure as one `clawrelay: …` line on stderr;
 * a pipe or --json gets the answer's JSON as it came.
 */
export function report(answer: LocalAnswer, human?: { options: OutputOptions; render: HumanRender }): void {
  const ok = answer.status >= 200 && answer.status < 300;
  if (!ok) process.exitCode = 1;
  if (human && wantsHuman(human.options)) {
    if (ok) {
      const text = human.render(answer.body, Date.now(), colours());
      if (text !== null) process.stdout.write(text);
      else printJson(answer.body);
    } else {
      process.stderr.write(`clawrelay: ${failureLine(answer)}\n`);
    }
    return;
  }
  print(answer.body);
  if (answer.status === 401) process.stderr.write(`clawrelay: ${TOKEN_HINT}\n`);
}

/** What went wrong, on one line: a config's problems joined, never a stack. */
function oneLine(error: unknown): string {
  if (error instanceof ConfigError) return `invalid connector config: ${error.problems.join("; ")}`;
  return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, " ");
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

/**
 * Wrap an async action so a failure prints one clear line (never a stack). A CliError keeps its
 * own exit code (2 for bad arguments); anything else (the connector unreachable or refusing, a
 * broken config or token file, a runtime failure) exits 1.
 */
export function action<Args extends unknown[]>(run: (...args: Args) => Promise<void>) {
  return async (...args: Args) => {
    try {
      await run(...args);
    } catch (error) {
      fail(oneLine(error), error instanceof CliError ? error.exitCode : EXIT.failed);
    }
  };
}
