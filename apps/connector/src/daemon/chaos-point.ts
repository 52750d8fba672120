import { writeSync } from "node:fs";

/**
 * Test-only fault injection for the chaos harness (chaos/, RELIABILITY.md). Inert unless the
 * environment variable CLAWRELAY_CHAOS_STOP_AT is set to `<point>[:<n>]`: then, the n-th time
 * (default 1) the daemon reaches `point` with a message in hand, it writes one JSON line to
 * stderr and stops itself with SIGSTOP. The harness sees the line and SIGKILLs the process,
 * which puts the kill at exactly that point instead of wherever a timer happened to land.
 *
 * - `before_commit`: a deliver frame arrived; nothing of it is in the inbox yet.
 * - `after_commit`: the batch is committed to the inbox; its ack is not sent yet.
 * - `after_ack`: an inbox message whose ack frame has gone to the socket is about to go to the
 *   agent's hook (acks may wait a few ms to go in bulk, so not every inbox message qualifies).
 */
export const CHAOS_POINTS = ["before_commit", "after_commit", "after_ack"] as const;
export type ChaosPoint = (typeof CHAOS_POINTS)[number];

export interface ChaosSpec {
  point: ChaosPoint;
  occurrence: number;
}

export function parseChaosSpec(raw: string | undefined): ChaosSpec | null {
  const match = /^(before_commit|after_commit|after_ack)(?::([1-9]\d{0,5}))?$/.exec(raw?.trim() ?? "");
  if (!match) return null;
  return { point: match[1] as ChaosPoint, occurrence: match[2] ? Number(match[2]) : 1 };
}

let armed = parseChaosSpec(process.env.CLAWRELAY_CHAOS_STOP_AT);
let reached = 0;
/** Ids whose ack frame was handed to the socket, kept only while `after_ack` is armed. */
const ackSent = new Set<string>();

/** An ack frame for these ids is being written to the relay socket. */
export function noteAckSent(ids: readonly string[]): void {
  if (armed?.point !== "after_ack") return;
  for (const id of ids) ackSent.add(id);
}

/**
 * `hookCallsInFlight` names the inbox items whose webhook call is under way (not the ones in
 * hand here): the hook may already have taken them without this process having recorded it, so
 * a kill now legitimately makes them go to the hook again after the restart (RELIABILITY.md).
 * The harness counts those repeats apart from the duplicates that must never happen.
 */
export function chaosPoint(
  point: ChaosPoint,
  items: readonly { kind: string; id: string }[],
  hookCallsInFlight: () => readonly string[] = () => [],
): void {
  if (armed === null || armed.point !== point) return;
  const messageIds = items
    .filter((item) => item.kind === "message" && (point !== "after_ack" || ackSent.has(item.id)))
    .map((item) => item.id);
  if (messageIds.length === 0 || ++reached < armed.occurrence) return;
  armed = null;
  ackSent.clear();
  const inHand = new Set(items.map((item) => item.id));
  const inFlight = hookCallsInFlight().filter((id) => !inHand.has(id));
  // Synchronous on purpose: the line must be out before the process stops.
  const line = { event: "chaos_stop", point, messageIds, hookCallsInFlight: inFlight, pid: process.pid };
  writeSync(2, `${JSON.stringify(line)}\n`);
  process.kill(process.pid, "SIGSTOP");
}
