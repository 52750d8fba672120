import { describe, expect, it } from "vitest";
import { type OpenClawTarget, openClawFormat } from "../../src/daemon/hook-formats/openclaw.js";
import type { SessionKeyLookup } from "../../src/daemon/hook-formats/session-key.js";
import { messageItem, receiptItem, waitUntil } from "./helpers/common.js";
import type { HookAnswer, HookServer } from "./helpers/hook-server.js";
import { inboundWorkers } from "./helpers/inbound-worker.js";

const setup = inboundWorkers();

const GATEWAY_TOKEN = "gateway-hooks-token";

function gateway(options: Partial<OpenClawTarget> = {}, lookup?: SessionKeyLookup) {
  return (hook: HookServer) =>
    openClawFormat(
      {
        url: hook.url(""),
        hooksPath: "/hooks",
        token: GATEWAY_TOKEN,
        agentId: undefined,
        sessionKeyPrefix: "hook:clawrelay:",
        waitForCompletion: true,
        receiptTurns: ["failed", "expired", "shed", "dead_lettered", "delayed"],
        timeoutMs: 2_000,
        ...options,
      },
      lookup,
    );
}

const completed = (status: "ok" | "error" | "skipped" = "ok"): HookAnswer => ({
  status: 200,
  body: JSON.stringify({
    ok: true,
    runId: "run-1",
    completion: { status, delivered: false, deliveryAttempted: false },
  }),
});

describe("inbound delivery into an OpenClaw gateway", () => {
  it("posts one agent turn per message to /hooks/agent with the gateway token, then reports processed", async () => {
    const s = await setup(() => completed("ok"), gateway({ agentId: "ops" }));
    const item = messageItem({ from: "alice-agent", conversationId: "conv-1000", payload: { text: "status?" } });
    s.deliver(item);
    await waitUntil(() => s.reports.length === 1, 5_000, "processed report");
    const [call] = s.hook.calls.items;
    expect(call?.path).toBe("/hooks/agent");
    expect(call?.headers).toMatchObject({
      authorization: `Bearer ${GATEWAY_TOKEN}`,
      "content-type": "application/json",
      "x-claw-message-id": item.id,
      "x-claw-correlation-id": item.correlationId,
    });
    expect(call?.body).toEqual({
      message: expect.stringContaining("status?"),
      name: "clawrelay",
      agentId: "ops",
      sessionKey: "hook:clawrelay:alice-agent:conv-1000",
      sessionMode: "persistent",
      idempotencyKey: item.id,
      deliver: false,
      waitForCompletion: true,
    });
    expect(s.reports).toEqual([{ type: "processed", id: item.id, outcome: "processed" }]);
  });

  it("a reply goes into the session its original was sent from (the remembered key)", async () => {
    const lookup: SessionKeyLookup = (id) =>
      id === "01JSENTFROMTHREAD000000000A" ? "hook:clawrelay:thread-a" : undefined;
    const s = await setup(() => completed(), gateway({}, lookup));
    s.deliver(
      messageItem({ from: "bob-agent", conversationId: "conv-2000", inReplyTo: "01JSENTFROMTHREAD000000000A" }),
    );
    await waitUntil(() => s.reports.length === 1, 5_000, "processed report");
    expect(s.hook.calls.items[0]?.body).toMatchObject({ sessionKey: "hook:clawrelay:thread-a" });
  });

  it("a turn that ends in an error fails the message with a reason", async () => {
    const s = await setup(() => completed("error"), gateway());
    const item = messageItem();
    s.deliver(item);
    await waitUntil(() => s.reports.length === 1, 5_000, "failed report");
    expect(s.reports[0]).toEqual({ type: "processed", id: item.id, outcome: "failed", reason: "openclaw_turn_error" });
    expect(s.hook.calls.items).toHaveLength(1);
  });

  it("without waitForCompletion an admitted run is processed", async () => {
    const s = await setup(
      () => ({ status: 200, body: '{"ok":true,"runId":"run-2"}' }),
      gateway({ waitForCompletion: false }),
    );
    const item = messageItem();
    s.deliver(item);
    await waitUntil(() => s.reports.length === 1, 5_000, "processed report");
    expect(s.hook.calls.items[0]?.body).toMatchObject({ waitForCompletion: false });
    expect(s.reports[0]).toMatchObject({ outcome: "processed" });
  });

  it("400 and 413 fail at once", async () => {
    const statuses = [400, 413];
    const s = await setup((_call, index) => ({ status: statuses[index] ?? 500, body: '{"ok":false}' }), gateway());
    const [first, second] = [messageItem(), messageItem()];
    s.deliver(first, second);
    await waitUntil(() => s.reports.length === 2, 5_000, "two failed reports");
    expect(s.reports.map((report) => [report.outcome, "reason" in report ? report.reason : undefined])).toEqual([
      ["failed", "hook_status_400"],
      ["failed", "hook_status_413"],
    ]);
    expect(s.hook.calls.items).toHaveLength(2);
  });

  it("408, 409, 429 and 5xx are retried", async () => {
    const statuses = [408, 409, 429, 500, 503];
    const s = await setup(
      (_call, index) => (index < statuses.length ? { status: statuses[index] ?? 500 } : completed()),
      gateway(),
      { delivery: { maxAttempts: 10 } },
    );
    s.deliver(messageItem());
    await waitUntil(() => s.reports.length === 1, 5_000, "processed after retries");
    expect(s.hook.calls.items).toHaveLength(6);
    expect(s.reports[0]).toMatchObject({ outcome: "processed" });
  });

  it("an undocumented answer (404, a 2xx without JSON) is logged and retried, never trusted", async () => {
    const answers: HookAnswer[] = [
      { status: 404, body: "not found" },
      { status: 200, body: "<html>ok</html>" },
    ];
    const s = await setup((_call, index) => answers[index] ?? completed(), gateway(), {
      delivery: { maxAttempts: 10 },
    });
    s.deliver(messageItem());
    await waitUntil(() => s.reports.length === 1, 5_000, "processed after the odd answers");
    expect(s.hook.calls.items).toHaveLength(3);
    const unexpected = s.logs.lines.filter((line) => line.event === "hook_unexpected_answer");
    expect(unexpected.map((line) => line.status)).toEqual([404, 200]);
  });

  it("401 holds the hook: no further calls, nothing failed or charged, and the status says why", async () => {
    const s = await setup(() => ({ status: 401, body: "Unauthorized" }), gateway());
    const first = messageItem();
    s.deliver(first);
    await waitUntil(() => s.worker.status().held !== null, 5_000, "hook held");
    expect(s.worker.status().held).toMatchObject({ reason: "hook token refused", status: 401 });
    const refused = s.logs.lines.filter((line) => line.event === "hook_auth_refused");
    expect(refused).toHaveLength(1);
    expect(refused[0]?.level).toBe(50);
    expect(JSON.stringify(refused[0])).not.toContain(GATEWAY_TOKEN);

    // More items arrive and the worker is woken: a call would start synchronously, none does.
    s.deliver(messageItem(), receiptItem({ status: "failed" }));
    expect(s.worker.status().inFlight).toBe(0);
    expect(s.hook.calls.items).toHaveLength(1);
    expect(s.reports).toEqual([]);
    expect(s.store.counts()).toMatchObject({ inboxPending: 3, deadLetters: 0 });
    // Parked (not due before its deadline), with no attempt charged.
    const [head] = s.store.inbox.due(Number.MAX_SAFE_INTEGER, 10, new Set()).filter((entry) => entry.id === first.id);
    expect(head?.attempts).toBe(0);
  });

  it("a failure receipt becomes a turn in the sender's session; others are settled without a call", async () => {
    const s = await setup(() => completed(), gateway());
    const quiet = receiptItem({ status: "delivered", recipient: "bob-agent" });
    const expired = receiptItem({
      status: "expired",
      reason: "ttl",
      recipient: "bob-agent",
      conversationId: "conv-3000",
      enqueuedAt: 1_700_000_000_000,
      at: 1_700_000_000_000 + 6 * 3_600_000,
    });
    s.deliver(quiet, expired);
    await waitUntil(() => s.store.counts().inboxPending === 0, 5_000, "both receipts settled");
    expect(s.hook.calls.items).toHaveLength(1);
    const body = s.hook.calls.items[0]?.body as { message: string; sessionKey: string; idempotencyKey: string };
    expect(body.sessionKey).toBe("hook:clawrelay:bob-agent:conv-3000");
    expect(body.idempotencyKey).toBe(expired.id);
    expect(body.message).toContain("bob-agent");
    expect(body.message).toContain("conv-3000");
    expect(body.message).toContain("expired after 6 h");
    expect(s.store.counts().deadLetters).toBe(0);
  });
});
