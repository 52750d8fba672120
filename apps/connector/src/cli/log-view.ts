// `connector start` on a terminal: the daemon's pino lines as one readable line each (time,
// level, event, the ids that matter, then the rest), written in-process and synchronously. A
// pino transport would run in a worker thread loading its own module, which the one-file
// esbuild bundle cannot carry; a destination stream is plain pino.
import type { DestinationStream } from "pino";
import { z } from "zod";
import type { OutputStream, Palette } from "./output.js";

const lineSchema = z.looseObject({
  level: z.number(),
  time: z.union([z.string(), z.number()]),
  event: z.string().optional(),
  msg: z.string().optional(),
});

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
/** Shown first, in this order: what a person greps a log for. */
const ID_FIELDS = ["agentId", "messageId", "correlationId"] as const;
/** Already shown (or the same on every line). */
const SKIPPED = new Set(["level", "time", "event", "msg", "service", "pid", "hostname", ...ID_FIELDS]);
const MAX_VALUE_CHARS = 200;

function levelText(level: number, palette: Palette): string {
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  if (level >= 50) return palette.red(name);
  if (level >= 40) return palette.yellow(name);
  if (level >= 30) return palette.green(name);
  return palette.dim(name);
}

function clockTime(time: string | number): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return String(time);
  const two = (n: number) => String(n).padStart(2, "0");
  const millis = String(date.getMilliseconds()).padStart(3, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${millis}`;
}

/** A field's value on one line: plain words as they are, anything else as compact JSON, no stacks. */
function valueText(value: unknown): string {
  const text =
    typeof value === "string"
      ? /^[^\s"=]+$/.test(value)
        ? value
        : JSON.stringify(value)
      : JSON.stringify(value, (key, inner: unknown) => (key === "stack" ? undefined : inner));
  const shown = text ?? String(value);
  return shown.length > MAX_VALUE_CHARS ? `${shown.slice(0, MAX_VALUE_CHARS)}…` : shown;
}

/** One pino JSON line as a person reads it; a line that is not pino's is passed through. */
export function formatLogLine(line: string, palette: Palette): string {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const parsed = lineSchema.safeParse(raw);
  if (!parsed.success) return line.endsWith("\n") ? line : `${line}\n`;
  const entry = parsed.data;
  const ids = ID_FIELDS.filter((name) => entry[name] !== undefined).map(
    (name) => `${palette.cyan(name)}=${valueText(entry[name])}`,
  );
  const rest = Object.entries(entry)
    .filter(([name, value]) => !SKIPPED.has(name) && value !== undefined)
    .map(([name, value]) => `${palette.dim(`${name}=`)}${valueText(value)}`);
  const head = `${palette.dim(clockTime(entry.time))} ${levelText(entry.level, palette)} ${palette.bold(entry.event ?? "-")}`;
  const parts = [head, ...(entry.msg ? [entry.msg] : []), [...ids, ...rest].join(" ")].filter((part) => part !== "");
  return `${parts.join("  ")}\n`;
}

/** A pino destination that writes readable lines to `out` (a terminal). */
export function readableLogStream(out: OutputStream, palette: Palette): DestinationStream {
  return {
    write(line: string): void {
      out.write(formatLogLine(line, palette));
    },
  };
}
