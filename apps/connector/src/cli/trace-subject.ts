import type { LocalTrace, LocalTraceHop } from "../daemon/trace-wire.js";

/** The one message a trace is about, as far as the sources name it. */
export interface TraceSubject {
  query: string;
  /** The relay's message id; null while the message never left the sender's outbox. */
  messageId: string | null;
  outboundId: string | null;
  correlationId: string | null;
  from: string | null;
  to: string | null;
  /** The recipient's relay when the sender named one (`toRelay`). */
  toRelay: string | null;
}

interface Candidate extends Omit<TraceSubject, "query"> {
  at: number;
}

function merge(into: Candidate, from: Candidate): void {
  into.messageId ??= from.messageId;
  into.outboundId ??= from.outboundId;
  into.correlationId ??= from.correlationId;
  into.from ??= from.from;
  into.to ??= from.to;
  into.toRelay ??= from.toRelay;
  into.at = Math.max(into.at, from.at);
}

function candidatesOf(trace: LocalTrace): Candidate[] {
  const out: Candidate[] = [];
  for (const o of trace.outbound) {
    out.push({
      messageId: o.messageId,
      outboundId: o.outboundId,
      correlationId: o.correlationId,
      from: trace.agentId,
      to: o.to,
      toRelay: o.toRelay,
      at: o.createdAt,
    });
  }
  for (const i of trace.inbound) {
    out.push({
      messageId: i.messageId,
      outboundId: null,
      correlationId: i.correlationId,
      from: i.from,
      to: trace.agentId,
      toRelay: null,
      at: i.receivedAt,
    });
  }
  // Hops whose outbox or inbox row is gone (pruned) still name their message.
  for (const hop of trace.hops) {
    if (hop.messageId === null) continue;
    out.push({
      messageId: hop.messageId,
      outboundId: null,
      correlationId: hop.correlationId,
      from: hop.role === "sender" ? trace.agentId : null,
      to: hop.role === "recipient" ? trace.agentId : null,
      toRelay: null,
      at: hop.at,
    });
  }
  return out;
}

/**
 * Which message the query names: an outbound id or relay message id names one; a correlation
 * id may name several, and the latest is traced (the others are listed). When no connector
 * knows the id, it is taken for a relay message id.
 */
export function resolveSubject(
  query: string,
  traces: readonly LocalTrace[],
): { subject: TraceSubject; alsoMatched: string[] } {
  const merged: Candidate[] = [];
  for (const candidate of traces.flatMap(candidatesOf)) {
    // A local receipt of a message the relay never accepted carries the outbound id as its message id.
    const same = merged.find(
      (m) =>
        (candidate.messageId !== null &&
          (m.messageId === candidate.messageId || m.outboundId === candidate.messageId)) ||
        (candidate.outboundId !== null && m.outboundId === candidate.outboundId),
    );
    if (same) merge(same, candidate);
    else merged.push({ ...candidate });
  }
  const exact = merged.find((m) => m.outboundId === query || m.messageId === query);
  const pool = exact ? [exact] : merged.filter((m) => m.correlationId === query);
  const ranked = [...pool].sort((a, b) => b.at - a.at);
  const chosen = ranked[0];
  if (!chosen) {
    return {
      subject: { query, messageId: query, outboundId: null, correlationId: null, from: null, to: null, toRelay: null },
      alsoMatched: [],
    };
  }
  const { at: _at, ...rest } = chosen;
  return {
    subject: { query, ...rest },
    alsoMatched: ranked.slice(1).map((m) => m.messageId ?? m.outboundId ?? "?"),
  };
}

/** Does a connector's hop belong to the subject? Outbox hops come before the relay named the message. */
export function belongsTo(hop: LocalTraceHop, subject: TraceSubject): boolean {
  if (hop.messageId !== null) {
    return hop.messageId === subject.messageId || (subject.outboundId !== null && hop.messageId === subject.outboundId);
  }
  if ((hop.hop === "outbox_queued" || hop.hop === "relay_send") && subject.outboundId !== null) {
    return hop.detail === subject.outboundId;
  }
  return hop.correlationId !== null && hop.correlationId === subject.correlationId;
}
