import { HEADERS } from "@clawrelay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, messageItem, receiptItem, waitUntil } from "./helpers/common.js";
import { postJson, startTestConnector } from "./helpers/connector.js";
import type { HookAnswer } from "./helpers/hook-server.js";
import { standIns } from "./helpers/stand-ins.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function environment(answer: () => HookAnswer) {
  const { dir, relay, hook: gateway } = await standIns(cleanups, answer);
  const started = await startTestConnector({
    dataDir: dir,
    relayUrls: [relay.url],
    hookUrl: gateway.url("/unused"),
    hookFormat: "openclaw",
    openclaw: { url: gateway.url(""), token: "gateway-token" },
  });
  cleanups.push(() => started.connector.close());
  const connection = await relay.connections.waitFor(() => true);
  await connection.frame("reconnect");
  connection.ack("active");
  return { relay, gateway, connection, ...started };
}

const completed: HookAnswer = { status: 200, body: '{"ok":true,"runId":"r","completion":{"status":"ok"}}' };

describe("connector daemon with the openclaw hook format", () => {
  it("a reply and a receipt for a message sent from an OpenClaw session go back into that session", async () => {
    const { gateway, connection, api } = await environment(() => completed);
    const sent = await api(
      "/v1/outbound",
      postJson(
        { to: "alice-agent", payload: { text: "hi" } },
        { [HEADERS.sessionKey]: "agent:main:hook:clawrelay:thread-9" },
      ),
    );
    const { outboundId } = sent.body as { outboundId: string };
    const record = await eventually(
      async () => (await api(`/v1/outbound/${outboundId}`)).body as { state: string; messageId: string | null },
      (body) => body.state === "sent",
      5_000,
      "outbound sent",
    );
    const messageId = record.messageId ?? "";
    const reply = messageItem({ from: "alice-agent", conversationId: "conv-9000", inReplyTo: messageId });
    const receipt = receiptItem({
      messageId,
      status: "dead_lettered",
      recipient: "alice-agent",
      reason: "ack_timeout",
    });
    connection.send({ type: "deliver", items: [reply, receipt] });
    await waitUntil(() => gateway.calls.items.length === 2, 5_000, "two turns");
    const keys = gateway.calls.items.map((call) => (call.body as { sessionKey: string }).sessionKey);
    expect(keys).toEqual(["hook:clawrelay:thread-9", "hook:clawrelay:thread-9"]);
  });

  it("a gateway that refuses the hook token holds delivery, and /v1/status and /healthz say so", async () => {
    const { gateway, connection, connector, api, logs } = await environment(() => ({
      status: 401,
      body: "Unauthorized",
    }));
    connection.send({ type: "deliver", items: [messageItem()] });
    await waitUntil(() => connector.status().hook.state === "held", 5_000, "hook held");
    expect((await api("/v1/status")).body).toMatchObject({
      hook: { format: "openclaw", state: "held", held: { reason: "hook token refused", status: 401 } },
      counts: { inboxPending: 1, deadLetters: 0 },
    });
    expect((await api("/healthz")).body).toMatchObject({ status: "degraded" });
    expect(gateway.calls.items).toHaveLength(1);
    expect(gateway.calls.items[0]?.path).toBe("/hooks/agent");
    expect(logs.lines.filter((line) => line.event === "hook_auth_refused")).toHaveLength(1);
  });
});
