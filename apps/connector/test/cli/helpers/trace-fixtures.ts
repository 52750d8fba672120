import { buildReport } from "../../../src/cli/trace-report.js";
import type { RelayRecord } from "../../../src/cli/trace-sources.js";
import { resolveSubject } from "../../../src/cli/trace-subject.js";
import type { LocalTrace, LocalTraceHop } from "../../../src/daemon/trace-wire.js";

// Fixtures of the pure half of `clawrelay trace`: a sender's and a recipient's local traces, the
// relay's record, and the report built from them.
export const T = Date.UTC(2025, 0, 2, 3, 4, 5);
export const at = (ms: number) => new Date(T + ms).toISOString();
export const MSG = "01RELAYMSG0000000000000001";
export const OUT = "01OUTBOUND0000000000000001";
export const CORR = "corr-logic-0001";

export function hop(
  role: LocalTraceHop["role"],
  name: string,
  ms: number,
  extra: Partial<LocalTraceHop> = {},
): LocalTraceHop {
  return { role, hop: name, at: T + ms, correlationId: CORR, messageId: null, detail: null, ...extra };
}

export function connector(agentId: string, parts: Partial<LocalTrace>): LocalTrace {
  return {
    query: CORR,
    agentId,
    connectorId: `c-${agentId}`,
    link: { state: "connected", relayUrl: "https://relay.example.com" },
    hookBreaker: "closed",
    outbound: [],
    inbound: [],
    hops: [],
    ...parts,
  };
}

export function outbound(state: "queued" | "sending" | "sent" | "failed", extra = {}) {
  return {
    outboundId: OUT,
    to: "bob-agent",
    toRelay: null,
    correlationId: CORR,
    messageId: state === "sent" ? MSG : null,
    priority: "normal",
    state,
    attempts: 1,
    lastError: null,
    createdAt: T,
    updatedAt: T + 20,
    nextAttemptAt: T + 5_000,
    expiresAt: T + 60_000,
    ...extra,
  };
}

export const aliceSent = connector("alice-agent", {
  outbound: [outbound("sent")],
  hops: [
    hop("sender", "outbox_queued", 0, { detail: OUT }),
    hop("sender", "relay_send", 1, { detail: OUT }),
    hop("sender", "relay_accepted", 40, { messageId: MSG, detail: OUT }),
  ],
});

export function record(parts: Partial<RelayRecord>): RelayRecord {
  return {
    messageId: MSG,
    correlationId: CORR,
    from: "alice-agent",
    to: "bob-agent",
    priority: "normal",
    state: "queued",
    enqueuedAt: T + 11,
    expiresAt: T + 3_600_000,
    attempts: 0,
    finishedAt: null,
    terminal: null,
    receipts: [],
    trace: [
      { hop: "received", at: T + 10, detail: { from: "alice-agent" } },
      { hop: "enqueued", at: T + 11, detail: { priority: "normal", ttlSeconds: 3600 } },
    ],
    ...parts,
  };
}

export function report(traces: LocalTrace[], relay: RelayRecord | null, query = CORR) {
  const { subject, alsoMatched } = resolveSubject(query, traces);
  return buildReport({
    subject,
    alsoMatched,
    connectors: traces.map((trace) => ({ url: `http://127.0.0.1/${trace.agentId}`, status: "found" as const, trace })),
    relay: relay
      ? { url: "https://relay.example.com", status: "found", record: relay }
      : { status: "skipped", reason: "no credentials" },
    relayAs: relay ? "admin" : null,
  });
}

export const sentHops = [
  { hop: "received", at: T + 10, detail: { from: "alice-agent" } },
  { hop: "enqueued", at: T + 11, detail: { priority: "normal", ttlSeconds: 3600 } },
  { hop: "sent", at: T + 12, detail: { connectorId: "c-bob", attempt: 1 } },
];
