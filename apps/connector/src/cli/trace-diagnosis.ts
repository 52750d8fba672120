import type { LocalTrace, LocalTraceInbound, LocalTraceOutbound } from "../daemon/trace-wire.js";
import type { RelayRecord } from "./trace-sources.js";
import type { TraceSubject } from "./trace-subject.js";
import type { TimelineEntry } from "./trace-timeline.js";

export type TraceOutcome = "delivered" | "failed" | "expired" | "shed" | "dead_lettered" | "pending" | "unknown";
export type StuckAt = "sender_outbox" | "relay_queue" | "relay_in_flight" | "recipient_inbox";

export interface Diagnosis {
  outcome: TraceOutcome;
  /** Where a pending message waits; null once it ended (or when no source can tell). */
  stuckAt: StuckAt | null;
  /** One sentence: where the message is and why. */
  sentence: string;
}

export interface DiagnosisInput {
  subject: TraceSubject;
  traces: readonly LocalTrace[];
  relay: RelayRecord | null;
  /** Why there is no relay record, when there is none. */
  relayNote: string | null;
  timeline: readonly TimelineEntry[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function ended(outcome: TraceOutcome, sentence: string): Diagnosis {
  return { outcome, stuckAt: null, sentence };
}

function waiting(stuckAt: StuckAt, parts: string[]): Diagnosis {
  return { outcome: "pending", stuckAt, sentence: parts.join(" — ") };
}

function fromRecipient(trace: LocalTrace, inbound: LocalTraceInbound, relay: RelayRecord | null): Diagnosis {
  const owner = `${trace.agentId}'s connector`;
  const attempts = plural(inbound.attempts, "hook attempt");
  const at = iso(inbound.finishedAt ?? inbound.receivedAt);
  if (inbound.state === "delivered") return ended("delivered", `delivered to the agent at ${at} (${attempts})`);
  if (inbound.state === "dead_lettered") {
    const reason = inbound.lastError ?? "unknown reason";
    const exhausted =
      relay?.terminal === "dead_lettered" || (relay?.terminal !== "failed" && reason.startsWith("retries exhausted"));
    return exhausted
      ? ended("dead_lettered", `dead-lettered by ${owner} at ${at} after ${attempts}: ${reason}`)
      : ended("failed", `refused by ${trace.agentId}'s agent hook at ${at}: ${reason} (kept as a dead letter)`);
  }
  const parts = [`stored by ${owner} at ${iso(inbound.receivedAt)}, waiting for ${trace.agentId}'s agent hook`];
  if (trace.hookBreaker !== "closed") {
    parts.push(`behind ${trace.agentId}'s ${trace.hookBreaker === "open" ? "open" : "half-open"} hook breaker`);
  }
  if (inbound.lastError) parts.push(`last error ${inbound.lastError} after ${attempts}`);
  if (inbound.nextAttemptAt !== null) parts.push(`next try at ${iso(inbound.nextAttemptAt)}`);
  return waiting("recipient_inbox", parts);
}

function terminalReason(relay: RelayRecord): string | null {
  const hop = relay.trace.findLast((h) => h.hop === relay.terminal);
  const reason = hop?.detail?.reason;
  if (typeof reason === "string") return reason;
  return relay.receipts.findLast((r) => r.status === relay.terminal)?.reason ?? null;
}

function fromRelay(relay: RelayRecord, timeline: readonly TimelineEntry[]): Diagnosis | null {
  const who = relay.to;
  const at = iso(relay.finishedAt ?? relay.enqueuedAt);
  const reason = terminalReason(relay);
  switch (relay.terminal) {
    case "processed":
      return ended("delivered", `delivered to the agent at ${at} (reported by ${who}'s connector)`);
    case "failed":
      return ended("failed", `refused by ${who}'s agent hook at ${at}${reason ? `: ${reason}` : ""}`);
    case "dead_lettered":
      return reason === "ack_timeout"
        ? ended(
            "dead_lettered",
            `dead-lettered by the relay at ${at} after ${plural(relay.attempts, "unacknowledged send")}`,
          )
        : ended("dead_lettered", `dead-lettered by ${who}'s connector at ${at}${reason ? `: ${reason}` : ""}`);
    case "expired":
      return ended("expired", `expired at ${at} after ${plural(relay.attempts, "delivery attempt")}`);
    case "shed":
      return ended("shed", `shed from lane ${relay.priority} at ${at}${reason ? ` (${reason})` : ""}`);
  }
  if (relay.state === "acked") {
    return waiting("recipient_inbox", [
      `stored by ${who}'s connector at ${at}`,
      `no word from ${who}'s agent hook yet (add --connector with ${who}'s connector to see its side)`,
    ]);
  }
  if (relay.state === "inflight") {
    const sent = timeline.findLast((e) => e.name === "relay.sent");
    return waiting("relay_in_flight", [
      `sent to ${who}'s connector${sent ? ` at ${iso(sent.at)}` : ""} (attempt ${relay.attempts})`,
      "waiting for its ack",
    ]);
  }
  if (relay.state !== "queued") return null;
  const parts = [`queued at relay for ${who} since ${iso(relay.enqueuedAt)}`];
  const recipient = relay.recipient;
  if (recipient && !recipient.connected) {
    parts.push(
      recipient.offlineSince !== null
        ? `${who} offline since ${iso(recipient.offlineSince)}`
        : `no connector of ${who} has connected${recipient.knownSince !== null ? ` since ${iso(recipient.knownSince)}` : ""}`,
    );
  } else if (recipient?.breaker.state === "open") {
    const probe = recipient.breaker.probeAt !== null ? `, next probe at ${iso(recipient.breaker.probeAt)}` : "";
    parts.push(
      `queued behind an open breaker (opened at ${iso(recipient.breaker.openedAt ?? relay.enqueuedAt)}${probe})`,
    );
  } else if (recipient?.breaker.state === "half_open") {
    parts.push("the delivery breaker is half-open: a probe batch decides");
  } else if (relay.attempts > 0) {
    parts.push(`waiting to be sent again after ${plural(relay.attempts, "attempt")}`);
  } else {
    parts.push(`waiting its turn in lane ${relay.priority}`);
  }
  parts.push(`expires at ${iso(relay.expiresAt)}`);
  return waiting("relay_queue", parts);
}

const TERMINAL_RECEIPTS: Record<string, TraceOutcome> = {
  processed: "delivered",
  failed: "failed",
  expired: "expired",
  shed: "shed",
  dead_lettered: "dead_lettered",
};

function fromSender(
  sender: string,
  outbound: LocalTraceOutbound,
  timeline: readonly TimelineEntry[],
  relayNote: string | null,
): Diagnosis {
  const at = iso(outbound.updatedAt);
  if (outbound.state === "failed") {
    return outbound.lastError === "expired_in_outbox"
      ? ended("expired", `expired in ${sender}'s outbox at ${at} before the relay accepted it`)
      : ended("failed", `refused by the relay at ${at}: ${outbound.lastError ?? "unknown reason"}`);
  }
  if (outbound.state !== "sent") {
    return waiting("sender_outbox", [
      `waiting in ${sender}'s outbox since ${iso(outbound.createdAt)}`,
      outbound.lastError
        ? `last error ${outbound.lastError} after ${plural(outbound.attempts, "attempt")}`
        : "not sent yet",
      `next try at ${iso(outbound.nextAttemptAt)}`,
    ]);
  }
  const receipt = timeline.findLast((e) => e.source === "sender" && TERMINAL_RECEIPTS[e.hop.slice(8)] !== undefined);
  const accepted = `accepted by the relay at ${at}${outbound.messageId ? ` as ${outbound.messageId}` : ""}`;
  if (receipt) {
    const status = receipt.hop.slice(8);
    return ended(
      TERMINAL_RECEIPTS[status] ?? "unknown",
      `${accepted}; its "${status}" receipt reached ${sender}'s connector at ${iso(receipt.at)}`,
    );
  }
  return {
    outcome: "unknown",
    stuckAt: null,
    sentence: `${accepted}; the relay's record was not read (${relayNote ?? "no answer"})`,
  };
}

/** Where the message is and why: the most detailed source wins (recipient, then relay, then sender). */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const { subject, traces, relay, relayNote, timeline } = input;
  if (subject.messageId !== null) {
    for (const trace of traces) {
      const inbound = trace.inbound.find((i) => i.messageId === subject.messageId);
      if (inbound) return fromRecipient(trace, inbound, relay);
    }
  }
  if (relay) {
    const found = fromRelay(relay, timeline);
    if (found) return found;
  }
  for (const trace of traces) {
    const outbound = trace.outbound.find(
      (o) =>
        (subject.outboundId !== null && o.outboundId === subject.outboundId) ||
        (subject.messageId !== null && o.messageId === subject.messageId),
    );
    if (outbound) return fromSender(trace.agentId, outbound, timeline, relayNote);
  }
  return { outcome: "unknown", stuckAt: null, sentence: relayNote ?? "no source knows this message" };
}
