import { describe, expect, it } from "vitest";
import { formatGap, renderReport } from "../../src/cli/trace-report.js";
import { resolveSubject } from "../../src/cli/trace-subject.js";
import {
  aliceSent,
  at,
  CORR,
  connector,
  hop,
  MSG,
  OUT,
  outbound,
  record,
  report,
  sentHops,
  T,
} from "./helpers/trace-fixtures.js";

// The pure half of `clawrelay trace`: which message, which hops, which last hop.
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
