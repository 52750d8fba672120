import { describe, expect, it } from "vitest";
import {
  agentHookUrl,
  interpretOpenClawAnswer,
  type OpenClawTarget,
  openClawBody,
} from "../../src/daemon/hook-formats/openclaw.js";
import { MESSAGE_TEXT_MAX_BYTES, receiptTurnText } from "../../src/daemon/hook-formats/openclaw-text.js";
import { derivedSessionKey, SESSION_KEY_MAX_LENGTH } from "../../src/daemon/hook-formats/session-key.js";
import { messageItem, receiptItem } from "./helpers/common.js";

const TARGET: OpenClawTarget = {
  url: "http://127.0.0.1:18789",
  hooksPath: "/hooks",
  token: "gateway-hooks-token",
  agentId: undefined,
  sessionKeyPrefix: "hook:clawrelay:",
  waitForCompletion: true,
  receiptTurns: ["failed", "expired", "shed", "dead_lettered", "delayed"],
  timeoutMs: 1_000,
};

const answer = (status: number, body: string | null = null, headers: Record<string, string> = {}) =>
  interpretOpenClawAnswer({ status, headers: new Headers(headers), body }, 0);

describe("openclaw hook format: session keys", () => {
  it("one key per peer and conversation, the message id when there is no conversation", () => {
    const inConversation = messageItem({ from: "alice-agent", conversationId: "conv-0001" });
    const alone = messageItem({ from: "alice-agent" });
    expect(openClawBody(inConversation, TARGET, undefined)?.sessionKey).toBe("hook:clawrelay:alice-agent:conv-0001");
    expect(openClawBody(alone, TARGET, undefined)?.sessionKey).toBe(`hook:clawrelay:alice-agent:${alone.id}`);
  });

  it("a reply to a message sent from a remembered session lands in that session", () => {
    const original = "01JORIGINAL0000000000000000";
    const lookup = (id: string) => (id === original ? "agent:main:hook:clawrelay:user-thread-7" : undefined);
    const reply = messageItem({ from: "bob-agent", conversationId: "conv-0002", inReplyTo: original });
    const other = messageItem({
      from: "bob-agent",
      conversationId: "conv-0002",
      inReplyTo: "01JSOMETHINGELSE00000000000",
    });
    expect(openClawBody(reply, TARGET, lookup)?.sessionKey).toBe("hook:clawrelay:user-thread-7");
    expect(openClawBody(other, TARGET, lookup)?.sessionKey).toBe("hook:clawrelay:bob-agent:conv-0002");
  });

  it("a remembered key the gateway would refuse (outside the prefix's family) is not used", () => {
    const reply = messageItem({
      from: "bob-agent",
      conversationId: "conv-0003",
      inReplyTo: "01JORIGINAL0000000000000001",
    });
    expect(openClawBody(reply, TARGET, () => "agent:main:main")?.sessionKey).toBe("hook:clawrelay:bob-agent:conv-0003");
  });

  it("keeps keys to [A-Za-z0-9:._-] and a bounded length, still unique", () => {
    const odd = derivedSessionKey("hook:clawrelay:", "alice agent/ü", "conv?#1");
    expect(odd).toBe("hook:clawrelay:alice_agent__:conv__1");
    const long1 = derivedSessionKey("hook:clawrelay:", "alice-agent", `${"x".repeat(300)}1`);
    const long2 = derivedSessionKey("hook:clawrelay:", "alice-agent", `${"x".repeat(300)}2`);
    for (const key of [long1, long2]) {
      expect(key).toMatch(/^[A-Za-z0-9:._-]+$/);
      expect(key.length).toBeLessThanOrEqual(SESSION_KEY_MAX_LENGTH);
    }
    expect(long1).not.toBe(long2);
  });
});

describe("openclaw hook format: the turn's body and text", () => {
  it("names the sender, the ids and how to answer; carries the item id as idempotency key", () => {
    const item = messageItem({ from: "alice-agent", conversationId: "conv-0004", payload: { text: "Lunch at noon?" } });
    const body = openClawBody(item, { ...TARGET, agentId: "ops" }, undefined);
    expect(body).toEqual({
      message: expect.any(String),
      name: "clawrelay",
      sessionKey: "hook:clawrelay:alice-agent:conv-0004",
      sessionMode: "persistent",
      idempotencyKey: item.id,
      deliver: false,
      waitForCompletion: true,
      agentId: "ops",
    });
    const text = body?.message ?? "";
    expect(text).toContain("alice-agent");
    expect(text).toContain("clawrelay");
    expect(text).toContain("Lunch at noon?");
    expect(text).toContain(item.id);
    expect(text).toContain("conv-0004");
    expect(text).toContain(`clawrelay_send tool with inReplyTo: "${item.id}"`);
  });

  it("shows a payload without a text as JSON, and cuts a long one", () => {
    const structured = openClawBody(messageItem({ payload: { order: 42 } }), TARGET, undefined)?.message ?? "";
    expect(structured).toContain('{"order":42}');
    const long = openClawBody(messageItem({ payload: { text: "é".repeat(20_000) } }), TARGET, undefined)?.message ?? "";
    expect(long).toContain("(truncated)");
    expect(Buffer.byteLength(long)).toBeLessThan(MESSAGE_TEXT_MAX_BYTES + 1_024);
    expect(long).not.toContain("\uFFFD");
  });

  it("builds the hook URL from the gateway's base URL and hooks path", () => {
    expect(agentHookUrl(TARGET)).toBe("http://127.0.0.1:18789/hooks/agent");
    expect(agentHookUrl({ url: "http://gw.local:1/base/", hooksPath: "/custom/" })).toBe(
      "http://gw.local:1/base/custom/agent",
    );
  });

  it("a receipt turn says to whom, when, which conversation, what happened and why", () => {
    const sentAt = Date.UTC(2026, 0, 5, 10, 2);
    const { receipt } = receiptItem({
      status: "expired",
      reason: "ttl",
      recipient: "bob-agent",
      conversationId: "conv-0005",
      enqueuedAt: sentAt,
      at: sentAt + 6 * 3_600_000,
    });
    const text = receiptTurnText(receipt);
    expect(text).toContain("your message to bob-agent (sent 10:02 UTC");
    expect(text).toContain(`message id ${receipt.messageId}`);
    expect(text).toContain("conversation conv-0005");
    expect(text).toContain("expired after 6 h: it was still waiting for bob-agent's connector");
  });

  it("only receipts in receiptTurns become turns, into the sender's session", () => {
    const failed = receiptItem({ status: "dead_lettered", recipient: "bob-agent", reason: "ack_timeout" });
    const delivered = receiptItem({ status: "delivered", recipient: "bob-agent" });
    expect(openClawBody(delivered, TARGET, undefined)).toBeNull();
    const body = openClawBody(failed, TARGET, undefined);
    expect(body?.sessionKey).toBe(`hook:clawrelay:bob-agent:${failed.receipt.messageId}`);
    expect(body?.idempotencyKey).toBe(failed.id);
    const remembered = openClawBody(failed, TARGET, (id) =>
      id === failed.receipt.correlationId ? "hook:clawrelay:my-thread" : null,
    );
    expect(remembered?.sessionKey).toBe("hook:clawrelay:my-thread");
  });
});

describe("openclaw hook format: answers", () => {
  const admitted = (completion?: string) =>
    JSON.stringify({
      ok: true,
      runId: "run-1",
      ...(completion ? { completion: { status: completion, delivered: false } } : {}),
    });

  it("2xx: the turn's completion decides", () => {
    expect(answer(200, admitted("ok"))).toEqual({ kind: "delivered", status: 200 });
    expect(answer(200, admitted())).toEqual({ kind: "delivered", status: 200 });
    expect(answer(200, admitted("error"))).toMatchObject({ kind: "rejected", reason: "openclaw_turn_error" });
    expect(answer(200, admitted("skipped"))).toMatchObject({ kind: "retry", reason: "openclaw_turn_skipped" });
  });

  it("maps the documented statuses", () => {
    expect(answer(400, '{"ok":false,"error":"message required"}')).toMatchObject({ kind: "rejected", status: 400 });
    expect(answer(413)).toMatchObject({ kind: "rejected", status: 413 });
    expect(answer(401, "Unauthorized")).toMatchObject({ kind: "held", reason: "hook token refused" });
    expect(answer(403)).toMatchObject({ kind: "held" });
    for (const status of [408, 409, 429, 500, 502, 503]) {
      const result = answer(status);
      expect(result).toMatchObject({ kind: "retry", status });
      expect(result).not.toHaveProperty("unexpected");
    }
    expect(answer(429, null, { "retry-after": "7" })).toMatchObject({ retryAfterMs: 7_000 });
  });

  it("retries what is not documented instead of trusting it", () => {
    for (const [status, body] of [
      [200, "<html>ok</html>"],
      [200, null],
      [204, ""],
      [302, null],
      [404, null],
      [405, null],
    ] as const) {
      expect(answer(status, body)).toMatchObject({ kind: "retry", unexpected: true });
    }
  });
});
