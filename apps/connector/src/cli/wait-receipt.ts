// `send --wait`: poll the connector's `GET /v1/outbound/{outboundId}` (PROTOCOL.md §8) until a
// receipt at or past the wanted stage, a failure receipt, or the deadline.
import { setTimeout as sleep } from "node:timers/promises";
import { isFailureStatus, type NOTIFY_STATUSES, type Receipt, receiptSchema } from "@clawrelay/protocol";
import { z } from "zod";
import type { LocalAnswer } from "../daemon/local-client.js";

/** The stages a sender can wait for, in the order a message passes them. */
export const WAIT_STAGES = ["delivered", "processed"] as const satisfies readonly (typeof NOTIFY_STATUSES)[number][];
export type WaitStage = (typeof WAIT_STAGES)[number];

export const DEFAULT_WAIT_TIMEOUT_SECONDS = 60;

/** What the CLI needs of the connector's outbound view (daemon.ts builds it; extra fields pass). */
export const outboundViewSchema = z.looseObject({
  outboundId: z.string(),
  to: z.string(),
  state: z.string(),
  lastError: z.string().nullable().optional(),
  createdAt: z.number(),
  receipts: z.array(receiptSchema),
});
export type OutboundView = z.infer<typeof outboundViewSchema>;

export type WaitOutcome =
  | { kind: "reached"; receipt: Receipt; view: OutboundView }
  | { kind: "failure"; status: string; reason: string | null; receipt?: Receipt; view: OutboundView }
  | { kind: "timeout"; view: OutboundView };

/** The kind of a receipt that reached `stage`: that stage or a later one. */
function reaches(status: Receipt["status"], stage: WaitStage): boolean {
  const index = (WAIT_STAGES as readonly string[]).indexOf(status);
  return index >= WAIT_STAGES.indexOf(stage);
}

/**
 * Where a message stands for a sender waiting for `stage`: the first receipt (in the order they
 * came) that reaches it or reports a failure decides; an outbound the connector gave up on
 * without a receipt yet is a failure too. Null while still on its way.
 */
export function judge(view: OutboundView, stage: WaitStage): Exclude<WaitOutcome, { kind: "timeout" }> | null {
  for (const receipt of view.receipts) {
    if (reaches(receipt.status, stage)) return { kind: "reached", receipt, view };
    if (isFailureStatus(receipt.status)) {
      return { kind: "failure", status: receipt.status, reason: receipt.reason ?? null, receipt, view };
    }
  }
  if (view.state === "failed") return { kind: "failure", status: "failed", reason: view.lastError ?? null, view };
  return null;
}

export interface WaitDeps {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** First pause between polls; it grows by half each poll up to maxPollMs. */
  pollMs: number;
  maxPollMs: number;
}

/** Polls start fast (a delivered receipt often takes tens of ms) and back off to one a second. */
export const systemWaitDeps: WaitDeps = {
  now: () => Date.now(),
  // A ref'd timer: the pause itself keeps the CLI alive between polls.
  sleep: (ms) => sleep(ms),
  pollMs: 50,
  maxPollMs: 1_000,
};

/** One read of the outbound view, its call bounded by `timeoutMs`. */
export type ReadOutbound = (timeoutMs: number) => Promise<LocalAnswer>;

/** Thrown when the connector answers the poll with anything but the view. */
export class OutboundReadError extends Error {
  constructor(readonly answer: LocalAnswer) {
    super(`the connector answered ${answer.status} while waiting for a receipt`);
    this.name = "OutboundReadError";
  }
}

const MIN_CALL_MS = 1_000;
const MAX_CALL_MS = 10_000;

/** Poll until judge() decides or `timeoutMs` passes; at most one call in flight, a pause between. */
export async function waitForReceipt(
  read: ReadOutbound,
  stage: WaitStage,
  timeoutMs: number,
  deps: WaitDeps = systemWaitDeps,
): Promise<WaitOutcome> {
  const deadline = deps.now() + timeoutMs;
  let pause = deps.pollMs;
  for (;;) {
    const remaining = deadline - deps.now();
    // Even the last poll gets a useful call timeout; the wait overruns by at most MIN_CALL_MS.
    const answer = await read(Math.min(MAX_CALL_MS, Math.max(MIN_CALL_MS, remaining)));
    const parsed = answer.status === 200 ? outboundViewSchema.safeParse(answer.body) : undefined;
    if (!parsed?.success) throw new OutboundReadError(answer);
    const outcome = judge(parsed.data, stage);
    if (outcome !== null) return outcome;
    const left = deadline - deps.now();
    if (left <= 0) return { kind: "timeout", view: parsed.data };
    await deps.sleep(Math.min(pause, left));
    pause = Math.min(deps.maxPollMs, Math.ceil(pause * 1.5));
  }
}
