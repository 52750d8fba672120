// What `clawrelay send` says to a person at a terminal: one line per send.
import { duration, type Palette } from "./output.js";
import type { WaitOutcome, WaitStage } from "./wait-receipt.js";

/** The connector's answer to `POST /v1/outbound` that the lines use (the rest passes through as JSON). */
export interface SentAnswer {
  outboundId: string;
  state: string;
  duplicate?: boolean;
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
      // Clocks of two machines: a receipt stamped a little before the send still reads "0 ms later".
      const after = duration(Math.max(0, outcome.receipt.at - view.createdAt));
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
