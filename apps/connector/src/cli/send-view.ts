// What `clawrelay send` says to a person at a terminal: one line per send.
import type { colours } from "./output.js";
import type { WaitOutcome, WaitStage } from "./wait-receipt.js";

type Palette = ReturnType<typeof colours>;

/** The connector's answer to `POST /v1/outbound` that the lines use (the rest passes through as JSON). */
export interface SentAnswer {
  outboundId: string;
  state: string;
  duplicate?: boolean;
}

/** "120 ms", "3.4 s", "2 min": how long a receipt took. */
export function elapsed(ms: number): string {
  const clamped = Math.max(0, Math.round(ms));
  if (clamped < 1_000) return `${clamped} ms`;
  if (clamped < 60_000) return `${(clamped / 1_000).toFixed(1)} s`;
  return `${Math.round(clamped / 60_000)} min`;
}

/** "sent <id> to bob-agent (queued)", without --wait. */
export function sentLine(sent: SentAnswer, to: string | undefined, palette: Palette): string {
  const verb = sent.duplicate ? "already sent" : "sent";
  return `${palette.green(verb)} ${sent.outboundId}${to !== undefined ? ` to ${palette.bold(to)}` : ""} ${palette.dim(`(${sent.state})`)}\n`;
}

/** The line for a finished wait: stdout when the stage was reached, stderr (as `clawrelay: …`) otherwise. */
export function waitLine(
  outcome: WaitOutcome,
  stage: WaitStage,
  timeoutSeconds: number,
  palette: Palette,
): { stream: "stdout" | "stderr"; text: string } {
  const { view } = outcome;
  const subject = `${view.outboundId} to ${view.to}`;
  switch (outcome.kind) {
    case "reached": {
      const after = elapsed(outcome.receipt.at - view.createdAt);
      const status = palette.green(outcome.receipt.status);
      return {
        stream: "stdout",
        text: `sent ${view.outboundId} to ${palette.bold(view.to)}, ${status} ${after} later\n`,
      };
    }
    case "failure": {
      const reason = outcome.reason !== null ? ` (${outcome.reason})` : "";
      return { stream: "stderr", text: `clawrelay: ${subject}: ${palette.red(outcome.status)}${reason}\n` };
    }
    case "timeout":
      return {
        stream: "stderr",
        text: `clawrelay: ${subject}: no ${stage} receipt within ${timeoutSeconds} s (state ${view.state})\n`,
      };
  }
}
