import { describe, expect, it } from "vitest";
import { buildReport, formatGap, renderReport } from "../../src/cli/trace-report.js";
import type { RelayRecord } from "../../src/cli/trace-sources.js";
import { resolveSubject } from "../../src/cli/trace-subject.js";
import type { LocalTrace, LocalTraceHop } from "../../src/daemon/trace-wire.js";

// The pure half of `clawrelay trace`: which message, which hops, which last hop, which sentence.
const T = Date.UTC(2025, 0, 2, 3, 4, 5);
const at = (ms: number) => new Date(T + ms).toISOString();
const MSG = "01RELAYMSG0000000000000001";
const OUT = "01OUTBOUND0000000000000001";
const CORR = "corr-logic-0001";

function hop(role: LocalTraceHop["role"], name: string, ms: number, extra: Partial<LocalTraceHop> = {}): LocalTraceHop {
  return { role, hop: name, at: T + ms, correlationId: CORR, messageId: null, detail: null, ...extra };
}

function connector(agentId: string, parts: Partial<LocalTrace>): LocalTrace {
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

function outbound(state: "queued" | "sending" | "sent" | "failed", extra = {}) {
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

const aliceSent = connector("alice-agent", {
  outbound: [outbound("sent")],
  hops: [
    hop("sender", "outbox_queued", 0, { detail: OUT }),
    hop("sender", "relay_send", 1, { detail: OUT }),
    hop("sender", "relay_accepted", 40, { messageId: MSG, detail: OUT }),
  ],
});

function record(parts: Partial<RelayRecord>): RelayRecord {
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

function report(traces: LocalTrace[], relay: RelayRecord | null, query = CORR) {
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

const sentHops = [
  { hop: "received", at: T + 10, detail: { from: "alice-agent" } },
  { hop: "enqueued", at: T + 11, detail: { priority: "normal", ttlSeconds: 3600 } },
  { hop: "sent", at: T + 12, detail: { connectorId: "c-bob", attempt: 1 } },
];

describe("trace: last hop", () => {
  it("handed to the agent beats the relay's later 'processed' report; without bob's connector the report counts", () => {
    const bob = connector("bob-agent", {
      query: MSG,
      inbound: [
        {
          messageId: MSG,
          correlationId: CORR,
          from: null,
          state: "delivered",
          attempts: 1,
          receivedAt: T + 13,
          finishedAt: T + 30,
          nextAttemptAt: null,
          lastError: null,
        },
      ],
      hops: [
        hop("recipient", "inbox_stored", 13, { messageId: MSG }),
        hop("recipient", "hook_delivered", 30, { messageId: MSG }),
      ],
    });
    const relay = record({
      state: "processed",
      terminal: "processed",
      attempts: 1,
      finishedAt: T + 35,
      trace: [
        ...sentHops,
        { hop: "acked", at: T + 14, detail: null },
        { hop: "processed", at: T + 35, detail: null },
        { hop: "receipt_emitted", at: T + 35, detail: { status: "processed", sent: false } },
      ],
    });
    const both = report([aliceSent, bob], relay);
    expect(both).toMatchObject({ lastHop: "recipient.hook_delivered", outcome: "delivered", stuck: false });
    expect(both.diagnosis).toBe(`delivered to the agent at ${at(30)} (1 hook attempt)`);
    expect(both.timeline.flatMap((e) => (e.step ? [e.step] : []))).toEqual(["T1", "T2", "T3", "T4", "T5", "T6"]);
    expect(both.timeline[1]?.gapMs).toBe(1);

    const relayOnly = report([aliceSent], relay);
    expect(relayOnly).toMatchObject({ lastHop: "relay.processed", outcome: "delivered" });
    expect(relayOnly.diagnosis).toBe(`delivered to the agent at ${at(35)} (reported by bob-agent's connector)`);
  });

  it("acks go in bulk: the relay's ack landing after the hook call is not the last hop", () => {
    const bob = connector("bob-agent", {
      query: MSG,
      hops: [
        hop("recipient", "inbox_stored", 13, { messageId: MSG }),
        hop("recipient", "hook_delivered", 15, { messageId: MSG }),
      ],
    });
    const relay = record({
      state: "acked",
      attempts: 1,
      trace: [...sentHops, { hop: "acked", at: T + 24, detail: null }],
    });
    expect(report([aliceSent, bob], relay)).toMatchObject({
      lastHop: "recipient.hook_delivered",
    });
    expect(report([aliceSent], relay)).toMatchObject({ lastHop: "relay.acked" });
  });

  it("in flight: the sender hearing 202 late is not progress; the relay's send is the last hop", () => {
    const r = report([aliceSent], record({ state: "inflight", attempts: 1, trace: sentHops }));
    expect(r).toMatchObject({ lastHop: "relay.sent", outcome: "pending", stuck: true, stuckAt: "relay_in_flight" });
    expect(r.diagnosis).toBe(`sent to bob-agent's connector at ${at(12)} (attempt 1) — waiting for its ack`);
  });

  it("dead-lettered by the relay itself after unacknowledged sends: a path hop, not an echo", () => {
    const r = report(
      [aliceSent],
      record({
        state: "dead_lettered",
        terminal: "dead_lettered",
        attempts: 10,
        finishedAt: T + 900,
        trace: [...sentHops, { hop: "dead_lettered", at: T + 900, detail: { reason: "ack_timeout" } }],
      }),
    );
    expect(r).toMatchObject({ lastHop: "relay.dead_lettered", outcome: "dead_lettered" });
    expect(r.diagnosis).toBe(`dead-lettered by the relay at ${at(900)} after 10 unacknowledged sends`);
  });
});

describe("trace: where it is stuck and why", () => {
  it("queued behind an open delivery breaker while bob is connected", () => {
    const r = report(
      [aliceSent],
      record({
        attempts: 2,
        recipient: {
          connected: true,
          offlineSince: null,
          knownSince: T - 1000,
          breaker: { state: "open", openedAt: T + 500, probeAt: T + 30_500 },
        },
      }),
    );
    expect(r).toMatchObject({ lastHop: "relay.enqueued", stuckAt: "relay_queue" });
    expect(r.diagnosis).toBe(
      `queued at relay for bob-agent since ${at(11)} — queued behind an open breaker (opened at ${at(500)}, next probe at ${at(30_500)}) — expires at ${at(3_600_000)}`,
    );
  });

  it("queued for a recipient that never connected", () => {
    const r = report(
      [aliceSent],
      record({
        recipient: {
          connected: false,
          offlineSince: null,
          knownSince: T - 1000,
          breaker: { state: "closed", openedAt: null, probeAt: null },
        },
      }),
    );
    expect(r.diagnosis).toContain(`— no connector of bob-agent has connected since ${at(-1000)} —`);
  });

  it("stored by bob's connector, behind bob's open hook breaker", () => {
    const bob = connector("bob-agent", {
      hookBreaker: "open",
      inbound: [
        {
          messageId: MSG,
          correlationId: CORR,
          from: "alice-agent",
          state: "pending",
          attempts: 5,
          receivedAt: T + 13,
          finishedAt: null,
          nextAttemptAt: T + 40_000,
          lastError: "hook_status_500",
        },
      ],
      hops: [hop("recipient", "inbox_stored", 13, { messageId: MSG })],
    });
    const r = report([bob], null, MSG);
    expect(r).toMatchObject({ stuckAt: "recipient_inbox", lastHop: "recipient.inbox_stored", from: "alice-agent" });
    expect(r.diagnosis).toBe(
      `stored by bob-agent's connector at ${at(13)}, waiting for bob-agent's agent hook — behind bob-agent's open hook breaker — last error hook_status_500 after 5 hook attempts — next try at ${at(40_000)}`,
    );
  });

  it("still in alice's outbox: the relay was never reached", () => {
    const alice = connector("alice-agent", {
      outbound: [outbound("queued", { attempts: 3, lastError: "unavailable (503)" })],
      hops: [
        hop("sender", "outbox_queued", 0, { detail: OUT }),
        hop("sender", "relay_send", 1, { detail: OUT }),
        hop("sender", "relay_retry", 2, { detail: "unavailable (503)" }),
      ],
    });
    const r = report([alice], null, OUT);
    expect(r).toMatchObject({ messageId: null, stuckAt: "sender_outbox", lastHop: "sender.relay_retry" });
    expect(r.diagnosis).toBe(
      `waiting in alice-agent's outbox since ${at(0)} — last error unavailable (503) after 3 attempts — next try at ${at(5_000)}`,
    );
  });

  it("expired in alice's outbox before any relay accepted it", () => {
    const alice = connector("alice-agent", {
      outbound: [outbound("failed", { lastError: "expired_in_outbox" })],
      hops: [
        hop("sender", "outbox_queued", 0, { detail: OUT }),
        hop("sender", "local_expired", 20, { detail: "expired_in_outbox" }),
      ],
    });
    const r = report([alice], null, OUT);
    expect(r).toMatchObject({ outcome: "expired", lastHop: "sender.local_expired" });
    expect(r.diagnosis).toBe(`expired in alice-agent's outbox at ${at(20)} before the relay accepted it`);
  });

  it("without a relay record, a terminal receipt at the sender still tells the outcome", () => {
    const alice = connector("alice-agent", {
      ...aliceSent,
      hops: [...aliceSent.hops, hop("sender", "receipt_shed", 80, { messageId: MSG })],
    });
    const r = report([alice], null);
    expect(r.outcome).toBe("shed");
    expect(r.lastHop).toBe("sender.relay_accepted");
    expect(r.diagnosis).toBe(
      `accepted by the relay at ${at(20)} as ${MSG}; its "shed" receipt reached alice-agent's connector at ${at(80)}`,
    );
  });
});

describe("trace: which message", () => {
  it("a shared correlation id traces the latest message and lists the others; exact ids win", () => {
    const older = { ...outbound("sent"), outboundId: "01OUT-OLD", messageId: "01MSG-OLD", createdAt: T - 5000 };
    const alice = connector("alice-agent", { outbound: [older, outbound("sent")] });
    expect(resolveSubject(CORR, [alice])).toMatchObject({ subject: { outboundId: OUT }, alsoMatched: ["01MSG-OLD"] });
    expect(resolveSubject("01OUT-OLD", [alice])).toMatchObject({
      subject: { messageId: "01MSG-OLD" },
      alsoMatched: [],
    });
    expect(resolveSubject("01UNKNOWN", [])).toMatchObject({ subject: { messageId: "01UNKNOWN", to: null } });
  });

  it("renders one line per hop with gaps, the last hop, the sentence and what was missing", () => {
    const text = renderReport(report([aliceSent], null));
    expect(text).toContain(`${at(1)}      +1ms  alice-agent's connector  relay_send      T1 left the connector`);
    expect(text).toContain("last hop: sender.relay_accepted");
    expect(text).toContain(`as ${MSG}; the relay's record was not read (no credentials)`);
    expect(text).toContain("note: relay record: no credentials");
    expect([formatGap(0), formatGap(1500), formatGap(125_000), formatGap(3_720_000)]).toEqual([
      "+0ms",
      "+1.5s",
      "+2m05s",
      "+1h02m",
    ]);
  });
});
