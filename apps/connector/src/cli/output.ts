// How a command prints: for people on a terminal (tables, relative times, colours) or JSON for
// scripts (`--json`, or whenever stdout is not a TTY).

export interface OutputOptions {
  json?: boolean;
}

/** Human output only on a TTY and without --json: a pipe or a file always gets JSON. */
export function wantsHuman(options: OutputOptions, stream: NodeJS.WriteStream = process.stdout): boolean {
  return options.json !== true && stream.isTTY === true;
}

/** Colours unless NO_COLOR is set (https://no-color.org) or the stream is not a TTY. */
export function colours(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env) {
  const on = stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "");
  const wrap = (code: string) => (text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { bold: wrap("1"), dim: wrap("2"), red: wrap("31"), green: wrap("32"), yellow: wrap("33"), cyan: wrap("36") };
}

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

/** A plain left-aligned table: a header row and one row per item. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
