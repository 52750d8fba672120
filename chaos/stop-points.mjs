// The chaos harness's stop points (apps/connector/src/daemon/stop-points.ts), injected into the
// daemon by chaos/connector-entry.mjs: the n-th time the daemon reaches the armed point with a
// message in hand, it writes one JSON line to stderr and stops itself with SIGSTOP. The harness
// (faults.mjs, connector_kill) sees the line and SIGKILLs the process, which puts the kill at
// exactly that point instead of wherever a timer happened to land.
import { writeSync } from "node:fs";

/** `<point>[:<n>]` → { point, occurrence }, or null when not understood. */
export function parseStopSpec(raw) {
  const match = /^(before_commit|after_commit|after_ack)(?::([1-9]\d{0,5}))?$/.exec(raw?.trim() ?? "");
  if (!match) return null;
  return { point: match[1], occurrence: match[2] ? Number(match[2]) : 1 };
}

/** A StopPoints armed with `spec`; `stop` is what happens there (the process stops itself). */
export function armedStopPoints(spec, stop = () => process.kill(process.pid, "SIGSTOP")) {
  let armed = spec;
  let reached = 0;
  // Ids whose ack frame went to the socket: `after_ack` counts only those (acks may wait a few
  // ms to go in bulk, so not every inbox message about to go to the hook has been acked).
  const ackSent = new Set();
  return {
    ackSent(ids) {
      if (armed?.point !== "after_ack") return;
      for (const id of ids) ackSent.add(id);
    },
    reached(point, items, hookCallsInFlight) {
      if (armed === null || armed.point !== point) return;
      const messageIds = items
        .filter((item) => item.kind === "message" && (point !== "after_ack" || ackSent.has(item.id)))
        .map((item) => item.id);
      if (messageIds.length === 0 || ++reached < armed.occurrence) return;
      armed = null;
      ackSent.clear();
      // The webhook calls under way besides the items in hand: the hook may already have taken
      // them unrecorded, so after the kill they legitimately go to it again (RELIABILITY.md).
      const inHand = new Set(items.map((item) => item.id));
      const inFlight = hookCallsInFlight().filter((id) => !inHand.has(id));
      // Synchronous on purpose: the line must be out before the process stops.
      const line = { event: "chaos_stop", point, messageIds, hookCallsInFlight: inFlight, pid: process.pid };
      writeSync(2, `${JSON.stringify(line)}\n`);
      stop();
    },
  };
}
