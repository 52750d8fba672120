// `clawrelay dead-letters` for a person: a table of what the connector gave up delivering, and
// what a replay put back. Scripts get the API's answers themselves (--json, or a pipe).
import { z } from "zod";
import { type Palette, relativeTime, table } from "./output.js";

const deadLettersSchema = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      reason: z.string(),
      attempts: z.number(),
      deadAt: z.number(),
      // The stored item as the relay sent it; only its sender is shown.
      item: z.unknown(),
    }),
  ),
});

const senderSchema = z.object({ from: z.string() });

const replaySchema = z.object({ replayed: z.number(), ids: z.array(z.string()) });

/** The table, or null when the answer is not a dead-letter list (then print it as JSON). */
export function renderDeadLetters(body: unknown, now: number, palette: Palette): string | null {
  const parsed = deadLettersSchema.safeParse(body);
  if (!parsed.success) return null;
  const { items } = parsed.data;
  if (items.length === 0) return `${palette.green("no dead letters")}\n`;
  const rows = items.map((entry) => {
    const sender = senderSchema.safeParse(entry.item);
    return [
      entry.id,
      entry.kind,
      sender.success ? sender.data.from : palette.dim("?"),
      palette.red(entry.reason),
      String(entry.attempts),
      relativeTime(entry.deadAt, now),
    ];
  });
  const hint = palette.dim("replay them with: clawrelay dead-letters --replay [--ids <id,...>]");
  return `${table(["ID", "KIND", "FROM", "REASON", "ATTEMPTS", "AGE"], rows)}\n${hint}\n`;
}

/** What a replay put back, or null when the answer is not a replay result. */
export function renderReplay(body: unknown, palette: Palette): string | null {
  const parsed = replaySchema.safeParse(body);
  if (!parsed.success) return null;
  const { replayed, ids } = parsed.data;
  if (replayed === 0) return "nothing replayed (no matching dead letters)\n";
  return `${palette.green(`replayed ${replayed}`)} into the inbox:\n${ids.map((id) => `  ${id}\n`).join("")}`;
}
