import type { LocalTrace } from "../daemon/trace-wire.js";
import type { RelayRecord } from "./trace-sources.js";
import { belongsTo, type TraceSubject } from "./trace-subject.js";

export type TraceSource = "sender" | "relay" | "recipient";

/**
 * `path`: the message moving (or ending). `echo`: one side repeating what another side did
 * (the relay's `processed` is the recipient connector's report; the sender's `relay_accepted`
 * is the relay's `enqueued` seen from the sender). `receipt`: news travelling back to the sender.
 */
export type HopKind = "path" | "echo" | "receipt";

export interface TimelineEntry {
  source: TraceSource;
  /** Who recorded it: "relay", or "<agentId>'s connector". */
  who: string;
  hop: string;
  /** `<source>.<hop>`: the name `lastHop` uses. */
  name: string;
  /** T1 left connector … T6 handed to the agent, for the hops that are one of those steps. */
  step: "T1" | "T2" | "T3" | "T4" | "T5" | "T6" | null;
  at: number;
  /** Milliseconds since the previous entry; null for the first. */
  gapMs: number | null;
  kind: HopKind;
  label: string;
  detail: unknown;
}

const STEPS: Record<string, TimelineEntry["step"]> = {
  "sender.relay_send": "T1",
  "relay.received": "T2",
  "relay.enqueued": "T3",
  "relay.sent": "T4",
  "recipient.inbox_stored": "T5",
  "recipient.hook_delivered": "T6",
};

/** Which source an echo repeats: when that source is in the trace, the echo never counts as the last hop. */
const ECHO_OF: Record<string, TraceSource> = {
  "sender.relay_accepted": "relay",
  // The relay hearing the connector stored the item; connectors send acks in bulk, a few ms
  // later, so it often lands after the agent already has the item.
  "relay.acked": "recipient",
  "relay.processed": "recipient",
  "relay.failed": "recipient",
  "relay.dead_lettered": "recipient",
};

function field(detail: unknown, key: string): unknown {
  return typeof detail === "object" && detail !== null ? (detail as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown, fallback = ""): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : fallback;
}

function describe(source: TraceSource, hop: string, detail: unknown, sendAttempt: number): string {
  if (source === "sender") {
    if (hop === "outbox_queued") return "taken from the agent into the outbox";
    if (hop === "relay_send") return `left the connector for the relay (attempt ${sendAttempt})`;
    if (hop === "relay_retry") return `relay send failed: ${text(detail, "unknown")}; will retry`;
    if (hop === "relay_accepted") return "the relay accepted it";
    if (hop === "local_expired") return "expired in the outbox before the relay accepted it";
    if (hop.startsWith("local_")) return `failed in the outbox: ${text(detail, hop.slice(6))}`;
    if (hop === "receipt_hook_delivered") return "receipt handed to the sender's receipt hook";
    if (hop === "receipt_hook_retry") return `the receipt hook failed: ${text(detail, "unknown")}; will retry`;
    if (hop === "receipt_hook_dead_lettered") return `receipt dead-lettered: ${text(detail, "unknown")}`;
    if (hop.startsWith("receipt_hook_")) return `receipt ${hop.slice("receipt_hook_".length).replaceAll("_", " ")}`;
    if (hop.startsWith("receipt_")) return `receipt "${hop.slice(8)}" reached the sender's connector`;
  }
  if (source === "relay") {
    const reason = text(field(detail, "reason"));
    switch (hop) {
      case "received":
        return "reached the relay";
      case "enqueued":
        return `queued in lane ${text(field(detail, "priority"), "?")} (ttl ${text(field(detail, "ttlSeconds"), "?")} s)`;
      case "sent":
        return `sent over WebSocket to ${text(field(detail, "connectorId"), "the connector")} (attempt ${text(field(detail, "attempt"), "?")})`;
      case "acked":
        return "the recipient's connector acknowledged it (stored)";
      case "nacked":
        return `the recipient's connector refused it for now (${reason || "no reason"}); back in the queue`;
      case "ack_timeout":
        return `no ack in time (attempt ${text(field(detail, "attempt"), "?")})`;
      case "requeued":
        return `back in the queue (${reason || "requeued"})`;
      case "delayed":
        return "still queued after the delayed-notice time";
      case "processed":
        return "the recipient's connector reported it processed";
      case "failed":
        return `the recipient's agent refused it${reason ? `: ${reason}` : ""}`;
      case "dead_lettered":
        return `dead-lettered${reason ? `: ${reason}` : ""}`;
      case "expired":
        return "expired";
      case "shed":
        return `shed${reason ? `: ${reason}` : ""}`;
      case "receipt_emitted":
        return `receipt "${text(field(detail, "status"), "?")}" ${field(detail, "sent") === true ? "sent to the sender" : "kept in the record"}`;
    }
  }
  if (source === "recipient") {
    if (hop === "inbox_stored") return "stored by the connector";
    if (hop === "hook_retry") return `the agent's hook failed: ${text(detail, "unknown")}; will retry`;
    if (hop === "hook_delivered") return "handed to the agent";
    if (hop === "dead_lettered") return `dead-lettered: ${text(detail, "unknown")}`;
    if (hop === "dead_letter_replayed") return "dead letter replayed into the inbox";
  }
  return hop.replaceAll("_", " ");
}

function kindOf(source: TraceSource, hop: string, detail: unknown): HopKind {
  if ((source === "relay" && hop === "receipt_emitted") || (source === "sender" && hop.startsWith("receipt_"))) {
    return "receipt";
  }
  // After too many unacknowledged sends the relay dead-letters on its own: no connector's word to echo.
  if (source === "relay" && hop === "dead_lettered" && field(detail, "reason") === "ack_timeout") return "path";
  return ECHO_OF[`${source}.${hop}`] ? "echo" : "path";
}

interface RawEntry {
  source: TraceSource;
  who: string;
  hop: string;
  at: number;
  detail: unknown;
}

/** One timeline from every source, in time order (ties keep sender, relay, recipient order). */
export function buildTimeline(
  subject: TraceSubject,
  traces: readonly LocalTrace[],
  relay: RelayRecord | null,
): TimelineEntry[] {
  const raw: RawEntry[] = [];
  for (const trace of traces) {
    for (const hop of trace.hops) {
      if (hop.role === "sender" && belongsTo(hop, subject)) {
        raw.push({
          source: "sender",
          who: `${trace.agentId}'s connector`,
          hop: hop.hop,
          at: hop.at,
          detail: hop.detail,
        });
      }
    }
  }
  for (const hop of relay?.trace ?? []) raw.push({ source: "relay", who: "relay", ...hop });
  for (const trace of traces) {
    for (const hop of trace.hops) {
      if (hop.role === "recipient" && belongsTo(hop, subject)) {
        raw.push({
          source: "recipient",
          who: `${trace.agentId}'s connector`,
          hop: hop.hop,
          at: hop.at,
          detail: hop.detail,
        });
      }
    }
  }
  // Array.prototype.sort is stable, so equal times keep the insertion order above.
  raw.sort((a, b) => a.at - b.at);
  let sendAttempt = 0;
  return raw.map((entry, index): TimelineEntry => {
    if (entry.source === "sender" && entry.hop === "relay_send") sendAttempt++;
    const name = `${entry.source}.${entry.hop}`;
    const previous = raw[index - 1];
    return {
      source: entry.source,
      who: entry.who,
      hop: entry.hop,
      name,
      step: STEPS[name] ?? null,
      at: entry.at,
      gapMs: previous ? entry.at - previous.at : null,
      kind: kindOf(entry.source, entry.hop, entry.detail),
      label: describe(entry.source, entry.hop, entry.detail, sendAttempt),
      detail: entry.detail,
    };
  });
}

/**
 * The furthest the message got: the latest hop of the message itself, not of receipts, and not
 * an echo whose original is in the timeline (so "handed to the agent" beats the relay's later
 * "processed" report). Null when the timeline is empty.
 */
export function lastHopOf(timeline: readonly TimelineEntry[]): TimelineEntry | null {
  const present = new Set(timeline.map((e) => e.source));
  const counted = timeline.filter(
    (e) => e.kind === "path" || (e.kind === "echo" && !present.has(ECHO_OF[e.name] ?? e.source)),
  );
  return counted.at(-1) ?? null;
}
