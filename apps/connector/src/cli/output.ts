// How a command prints: for people on a terminal (tables, relative times, colours) or JSON for
// scripts (`--json`, or whenever stdout is not a TTY).
import { type Command, Option } from "commander";

export interface OutputOptions {
  json?: boolean;
}

/** What the helpers need of a stream: whether it is a terminal, and a way to write to it. */
export interface OutputStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Human output only on a TTY and without --json: a pipe or a file always gets JSON. */
export function wantsHuman(options: OutputOptions, stream: Pick<OutputStream, "isTTY"> = process.stdout): boolean {
  return options.json !== true && stream.isTTY === true;
}

/** Colours unless NO_COLOR is set (https://no-color.org) or the stream is not a TTY. */
export function colours(stream: Pick<OutputStream, "isTTY"> = process.stdout, env: NodeJS.ProcessEnv = process.env) {
  const on = stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "");
  const wrap = (code: string) => (text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { bold: wrap("1"), dim: wrap("2"), red: wrap("31"), green: wrap("32"), yellow: wrap("33"), cyan: wrap("36") };
}

export type Palette = ReturnType<typeof colours>;

/** "3 s ago", "in 2 min", "4 h ago": epoch milliseconds as a person reads them. */
export function relativeTime(epochMs: number, nowMs: number): string {
  const delta = epochMs - nowMs;
  const abs = Math.abs(delta);
  const [amount, unit] =
    abs < 1_000
      ? [0, "s"]
      : abs < 60_000
        ? [Math.round(abs / 1_000), "s"]
        : abs < 3_600_000
          ? [Math.round(abs / 60_000), "min"]
          : abs < 86_400_000
            ? [Math.round(abs / 3_600_000), "h"]
            : [Math.round(abs / 86_400_000), "d"];
  if (amount === 0) return "just now";
  return delta < 0 ? `${amount} ${unit} ago` : `in ${amount} ${unit}`;
}

/** A duration in milliseconds as a person reads it: "850 ms", "12 s", "3 min", "2 h", "4 d". */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escape sequences colours() writes
const ANSI_SEQUENCE = /\u001b\[[0-9;]*m/g;

/** The width a terminal shows: colour codes take no columns. */
export function visibleLength(text: string): number {
  return text.replace(ANSI_SEQUENCE, "").length;
}

/** A plain left-aligned table: a header row and one row per item (cells may be coloured). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(visibleLength(header), ...rows.map((row) => visibleLength(row[column] ?? ""))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell + " ".repeat(Math.max(0, (widths[column] ?? 0) - visibleLength(cell))))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

export function printJson(value: unknown, stream: OutputStream = process.stdout): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `--json` on a command: JSON on stdout even on a terminal, for scripts. */
export function addJsonOption(command: Command): Command {
  return command.addOption(new Option("--json", "print JSON (the default when stdout is not a terminal)"));
}

/** A shell word a person can paste: paths with spaces or quotes are single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** One command line to paste, its words quoted where the shell needs it. */
export function commandLine(words: readonly string[]): string {
  return words.map(shellWord).join(" ");
}

/** "Next:" and the exact commands to run, one a line, after what an init command wrote. */
export function nextSteps(steps: readonly { what: string; command: string }[], palette: Palette): string {
  if (steps.length === 0) return "";
  const lines = steps.map((step) => `  ${palette.dim(`# ${step.what}`)}\n  ${palette.cyan(step.command)}`);
  return `\n${palette.bold("Next:")}\n${lines.join("\n")}\n`;
}

/** Label/value lines with the labels in one column. */
export function fields(rows: readonly (readonly [string, string])[], palette: Palette): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${palette.dim(label.padEnd(width))}  ${value}\n`).join("");
}
