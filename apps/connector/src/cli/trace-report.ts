import type { LocalTrace } from "../daemon/trace-wire.js";
import { type Diagnosis, diagnose, type StuckAt, type TraceOutcome } from "./trace-diagnosis.js";
import type { ConnectorAnswer, RelayAnswer, RelayRecord } from "./trace-sources.js";
import type { TraceSubject } from "./trace-subject.js";
import { buildTimeline, lastHopOf, type TimelineEntry } from "./trace-timeline.js";

/** Why the relay was not asked, when it was not. */
export interface RelaySkipped {
  status: "skipped";
  reason: string;
  /** Set when the relay was known but the credentials were kept from it (see trace-origins.ts). */
  code?: "untrusted_origin" | "insecure_origin";
}

export interface TraceReport extends Omit<TraceSubject, "toRelay"> {
  outcome: TraceOutcome;
  stuck: boolean;
  stuckAt: StuckAt | null;
  diagnosis: string;
  /** `<source>.<hop>` of the furthest hop, e.g. `recipient.hook_delivered`, `relay.expired`. */
  lastHop: string | null;
  timeline: (TimelineEntry & { time: string })[];
  relay: RelayRecord | null;
  sources: {
    connectors: { url: string; status: string; agentId?: string; connectorId?: string; code?: string }[];
    relay: { url: string | null; status: string; as: string | null; code?: string; reason?: string };
  };
  /** Other messages under the same correlation id (pass one of these ids to trace it). */
  alsoMatched: string[];
}

function relayNoteOf(answer: RelayAnswer | RelaySkipped): string | null {
  switch (answer.status) {
    case "found":
      return null;
    case "skipped":
      return answer.reason;
    case "unreachable":
      return `the relay at ${answer.url} did not answer`;
    case "invalid_answer":
      return `the relay at ${answer.url} gave an answer this CLI cannot read`;
    case "error":
      return `the relay refused to show its record (${answer.code})`;
  }
}

export function buildReport(input: {
  subject: TraceSubject;
  alsoMatched: string[];
  connectors: readonly ConnectorAnswer[];
  relay: RelayAnswer | RelaySkipped;
  /** Who read the relay record: `agent <id>` or `admin`. */
  relayAs: string | null;
}): TraceReport {
  const traces: LocalTrace[] = input.connectors.flatMap((c) => (c.status === "found" ? [c.trace] : []));
  const record = input.relay.status === "found" ? input.relay.record : null;
  const subject: TraceSubject = record
    ? {
        ...input.subject,
        messageId: record.messageId,
        correlationId: record.correlationId,
        from: record.from,
        to: record.to,
      }
    : input.subject;
  const timeline = buildTimeline(subject, traces, record);
  const diagnosis: Diagnosis = diagnose({
    subject,
    traces,
    relay: record,
    relayNote: relayNoteOf(input.relay),
    timeline,
  });
  const relaySource: TraceReport["sources"]["relay"] =
    input.relay.status === "skipped"
      ? {
          url: null,
          status: "skipped",
          as: null,
          reason: input.relay.reason,
          ...(input.relay.code !== undefined ? { code: input.relay.code } : {}),
        }
      : {
          url: input.relay.url,
          status: input.relay.status,
          as: input.relayAs,
          ...(input.relay.status === "error" ? { code: input.relay.code } : {}),
        };
  return {
    query: subject.query,
    messageId: subject.messageId,
    outboundId: subject.outboundId,
    correlationId: subject.correlationId,
    from: subject.from,
    to: subject.to,
    outcome: diagnosis.outcome,
    stuck: diagnosis.outcome === "pending",
    stuckAt: diagnosis.stuckAt,
    diagnosis: diagnosis.sentence,
    lastHop: lastHopOf(timeline)?.name ?? null,
    timeline: timeline.map((entry) => ({ ...entry, time: new Date(entry.at).toISOString() })),
    relay: record,
    sources: {
      connectors: input.connectors.map((c) => ({
        url: c.url,
        status: c.status,
        ...(c.status === "found" ? { agentId: c.trace.agentId, connectorId: c.trace.connectorId } : {}),
        ...(c.status === "error" ? { code: c.code } : {}),
      })),
      relay: relaySource,
    },
    alsoMatched: input.alsoMatched,
  };
}

/** `+12ms`, `+1.5s`, `+2m05s`, `+1h02m`. */
export function formatGap(ms: number): string {
  const sign = ms < 0 ? "-" : "+";
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${abs}ms`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(1)}s`;
  if (abs < 3_600_000) {
    const minutes = Math.floor(abs / 60_000);
    return `${sign}${minutes}m${String(Math.floor((abs % 60_000) / 1000)).padStart(2, "0")}s`;
  }
  const hours = Math.floor(abs / 3_600_000);
  return `${sign}${hours}h${String(Math.floor((abs % 3_600_000) / 60_000)).padStart(2, "0")}m`;
}

/** The human timeline: one line per hop, then the last hop and the diagnosis. */
export function renderReport(report: TraceReport): string {
  const ids = [
    report.correlationId ? `correlation ${report.correlationId}` : null,
    report.outboundId ? `outbound ${report.outboundId}` : null,
  ].filter((part): part is string => part !== null);
  const lines = [
    `message ${report.messageId ?? "(not accepted by a relay)"}${ids.length > 0 ? ` (${ids.join(", ")})` : ""}`,
    `${report.from ?? "?"} → ${report.to ?? "?"}${report.relay ? `, ${report.relay.priority}` : ""}`,
    "",
  ];
  const whoWidth = Math.max(5, ...report.timeline.map((e) => e.who.length));
  const hopWidth = Math.max(3, ...report.timeline.map((e) => e.hop.length));
  for (const entry of report.timeline) {
    const gap = entry.gapMs === null ? "" : formatGap(entry.gapMs);
    lines.push(
      `  ${entry.time}  ${gap.padStart(8)}  ${entry.who.padEnd(whoWidth)}  ${entry.hop.padEnd(hopWidth)}  ${entry.step ? `${entry.step} ` : ""}${entry.label}`,
    );
  }
  if (report.timeline.length === 0) lines.push("  (no hops recorded)");
  lines.push("", `last hop: ${report.lastHop ?? "none"}`, `${report.stuck ? "stuck: " : ""}${report.diagnosis}`);
  for (const source of report.sources.connectors) {
    if (source.status !== "found") lines.push(`note: connector ${source.url}: ${source.code ?? source.status}`);
  }
  const relay = report.sources.relay;
  if (relay.status !== "found") {
    lines.push(`note: relay record: ${relay.reason ?? `${relay.status}${relay.code ? ` (${relay.code})` : ""}`}`);
  }
  if (report.alsoMatched.length > 0) {
    lines.push(
      `note: ${report.alsoMatched.length} other message(s) share this correlation id: ${report.alsoMatched.join(", ")}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
