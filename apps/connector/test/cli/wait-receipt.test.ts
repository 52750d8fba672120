import type { Receipt } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import {
  judge,
  OutboundReadError,
  type OutboundView,
  type WaitDeps,
  waitForReceipt,
} from "../../src/cli/wait-receipt.js";
import type { LocalAnswer } from "../../src/daemon/local-client.js";

function receipt(status: Receipt["status"], at: number, reason?: string): Receipt {
  return {
    receiptId: `r-${status}-${at}`,
    messageId: "msg-1",
    correlationId: "corr-1",
    status,
    recipient: "bob-agent",
    at,
    attempts: 1,
    enqueuedAt: 1_000,
    ...(reason !== undefined ? { reason } : {}),
  };
}

function view(receipts: Receipt[], state = "sent", lastError: string | null = null): OutboundView {
  return { outboundId: "out-1", to: "bob-agent", state, lastError, createdAt: 1_000, receipts };
}

/** A clock that only moves when the wait sleeps, and a record of every pause. */
function fakeClock(): WaitDeps & { pauses: number[]; time: () => number } {
  let now = 0;
  const pauses: number[] = [];
  return {
    now: () => now,
    sleep: async (ms) => {
      pauses.push(ms);
      now += ms;
    },
    pollMs: 50,
    maxPollMs: 1_000,
    pauses,
    time: () => now,
  };
}

const answer = (body: unknown, status = 200): LocalAnswer => ({ status, body });

describe("judge: where a message stands for a waiting sender", () => {
  it("delivered is reached by delivered or processed; processed only by processed", () => {
    expect(judge(view([receipt("delivered", 2_000)]), "delivered")?.kind).toBe("reached");
    expect(judge(view([receipt("processed", 2_000)]), "delivered")?.kind).toBe("reached");
    expect(judge(view([receipt("delivered", 2_000)]), "processed")).toBeNull();
    expect(judge(view([receipt("delayed", 2_000)]), "delivered")).toBeNull();
    expect(judge(view([receipt("delivered", 2_000), receipt("processed", 3_000)]), "processed")).toMatchObject({
      kind: "reached",
      receipt: { status: "processed" },
    });
  });

  it("a failure receipt ends the wait, with its kind and reason; the first deciding receipt wins", () => {
    for (const status of ["failed", "expired", "shed", "dead_lettered"] as const) {
      expect(judge(view([receipt(status, 2_000, "why")]), "delivered")).toMatchObject({
        kind: "failure",
        status,
        reason: "why",
      });
    }
    const deliveredThenLost = view([receipt("delivered", 2_000), receipt("dead_lettered", 3_000, "hook_failed")]);
    expect(judge(deliveredThenLost, "delivered")?.kind).toBe("reached");
    expect(judge(deliveredThenLost, "processed")).toMatchObject({ kind: "failure", status: "dead_lettered" });
  });

  it("an outbound the connector gave up on is a failure even before its receipt shows", () => {
    expect(judge(view([], "failed", "unknown_recipient: nope"), "delivered")).toMatchObject({
      kind: "failure",
      status: "failed",
      reason: "unknown_recipient: nope",
    });
    expect(judge(view([], "queued"), "delivered")).toBeNull();
  });
});

describe("waitForReceipt: bounded polling", () => {
  it("polls until the receipt comes, pausing longer each time up to the cap", async () => {
    const clock = fakeClock();
    const reads: number[] = [];
    const outcome = await waitForReceipt(
      async (timeoutMs) => {
        reads.push(timeoutMs);
        return answer(view(reads.length < 4 ? [] : [receipt("delivered", 2_000)]));
      },
      "delivered",
      60_000,
      clock,
    );
    expect(outcome).toMatchObject({ kind: "reached", receipt: { status: "delivered" } });
    expect(reads).toHaveLength(4);
    expect(clock.pauses).toEqual([50, 75, 113]);
    // Every call has a timeout.
    for (const timeout of reads) expect(timeout).toBeGreaterThan(0);
  });

  it("times out at the deadline after a bounded number of polls, with the last state seen", async () => {
    const clock = fakeClock();
    let reads = 0;
    const outcome = await waitForReceipt(
      async () => {
        reads++;
        return answer(view([], "sent"));
      },
      "processed",
      10_000,
      clock,
    );
    expect(outcome).toMatchObject({ kind: "timeout", view: { state: "sent" } });
    expect(clock.time()).toBe(10_000);
    // The pauses grow to one second: about 8 to reach it, then one a second; never a tight loop.
    expect(reads).toBeLessThanOrEqual(20);
    expect(Math.max(...clock.pauses)).toBeLessThanOrEqual(1_000);
    expect(clock.pauses.slice(0, -1).every((pause) => pause >= 50)).toBe(true);
  });

  it("an answer that is not the outbound view stops the wait", async () => {
    const clock = fakeClock();
    const notFound = answer({ error: { code: "not_found", message: "no such outbound message" } }, 404);
    await expect(waitForReceipt(async () => notFound, "delivered", 5_000, clock)).rejects.toBeInstanceOf(
      OutboundReadError,
    );
    await expect(waitForReceipt(async () => answer({ state: 1 }), "delivered", 5_000, clock)).rejects.toBeInstanceOf(
      OutboundReadError,
    );
  });
});
