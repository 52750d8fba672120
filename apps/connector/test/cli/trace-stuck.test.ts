import { describe, expect, it } from "vitest";
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
  T,
} from "./helpers/trace-fixtures.js";

// The pure half of `clawrelay trace`: the sentence that says where a message is stuck and why.
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
