import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
// Relative: the plugin has no dependencies, not even on the workspace's protocol package.
import {
  AGENT_ID_PATTERN,
  CONNECTOR_DEFAULTS,
  CORRELATION_ID_PATTERN,
  HEADERS,
  notifySchema,
  PRIORITIES,
  PROTOCOL_LIMITS,
  RELAY_DEFAULTS,
  SESSION_KEY_PATTERN,
} from "../../../packages/protocol/src/index.js";
import plugin from "../index.mjs";
import * as limits from "../lib/limits.mjs";
import { accepted, FakeConnector, failure, json, load, refuse, SESSION, TOKEN } from "./helpers/stand-ins.js";

// The plugin as OpenClaw runs it: registered against a stand-in `api`, its tools executed, and a
// small HTTP server standing in for the connector's loopback API (the edge of the world).
const connector = new FakeConnector();
const scratch = mkdtempSync(join(tmpdir(), "clawrelay-plugin-"));
const tokenFile = join(scratch, "api-token");
const config = () => ({ connectorUrl: connector.url, apiTokenFile: tokenFile });

beforeAll(async () => {
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  await connector.start();
});
afterEach(() => {
  connector.calls = [];
  connector.route = (_call, res) => json(res, 202, accepted);
});
afterAll(async () => {
  await connector.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("the plugin's shape", () => {
  it("registers the tools its manifest names, each direct-only, under the manifest's id", () => {
    const manifest = JSON.parse(readFileSync(new URL("../openclaw.plugin.json", import.meta.url), "utf8"));
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    const { names, send, status } = load(config());
    expect(plugin.id).toBe(manifest.id);
    expect(names).toEqual(manifest.contracts.tools);
    expect(pkg.openclaw.extensions).toEqual(["./index.mjs"]);
    expect(pkg.dependencies).toBeUndefined();
    for (const tool of [send, status]) expect(tool.catalogMode).toBe("direct-only");
    expect(Object.keys(send.parameters.properties).sort()).toEqual(
      ["conversationId", "inReplyTo", "notify", "payload", "priority", "text", "to", "ttlSeconds"].sort(),
    );
    expect(manifest.configSchema.properties.connectorUrl.default).toBe(limits.DEFAULT_CONNECTOR_URL);
  });

  it("checks with the protocol's own limits and patterns (the plugin keeps copies: it has no dependencies)", () => {
    expect(limits.AGENT_ID_PATTERN.source).toBe(AGENT_ID_PATTERN.source);
    expect(limits.MESSAGE_REF_PATTERN.source).toBe(CORRELATION_ID_PATTERN.source);
    expect(limits.SESSION_KEY_PATTERN.source).toBe(SESSION_KEY_PATTERN.source);
    expect(limits.SESSION_KEY_HEADER).toBe(HEADERS.sessionKey);
    expect(limits.MAX_TTL_SECONDS).toBe(PROTOCOL_LIMITS.maxTtlSeconds);
    expect(limits.MAX_PAYLOAD_BYTES).toBe(RELAY_DEFAULTS.RELAY_MAX_BODY_BYTES);
    expect(limits.PRIORITIES).toEqual([...PRIORITIES]);
    expect(limits.NOTIFY_KINDS).toEqual(notifySchema.element.options);
    expect(limits.DEFAULT_CONNECTOR_URL).toBe(
      `http://${CONNECTOR_DEFAULTS.listenHost}:${CONNECTOR_DEFAULTS.listenPort}`,
    );
  });
});

describe("clawrelay_send", () => {
  it("posts the message with the token and the calling session's key, and tells the model what happens next", async () => {
    const { send } = load(config());
    const result = await send.execute("call-1", { to: "bob", text: "Hello bob", ttlSeconds: 60, priority: "critical" });
    expect(connector.calls).toHaveLength(1);
    const [call] = connector.calls;
    expect(call).toMatchObject({ method: "POST", path: "/v1/outbound" });
    expect(call?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(call?.headers[HEADERS.sessionKey]).toBe(SESSION);
    expect(call?.headers["content-type"]).toBe("application/json");
    expect(call?.body).toEqual({
      to: "bob",
      payload: { text: "Hello bob" },
      ttlSeconds: 60,
      priority: "critical",
      conversationId: expect.stringMatching(/^oc\.[A-Za-z0-9_-]{22}$/),
    });
    expect(result.details).toEqual({ ok: true, ...accepted });
    const text = result.content[0]?.text ?? "";
    expect(text).toContain("bob");
    expect(JSON.parse(text.split("\n").at(-1) ?? "")).toEqual(accepted);
  });

  it("answers a message with inReplyTo alone (the connector finds the recipient), a JSON payload passed as it is", async () => {
    const { send } = load({ ...config(), apiTokenFile: undefined, apiToken: TOKEN });
    await send.execute("call-2", { inReplyTo: "msg_01JREPLYTO", payload: { answer: [1, 2] }, notify: ["processed"] });
    expect(connector.calls[0]?.body).toEqual({
      payload: { answer: [1, 2] },
      inReplyTo: "msg_01JREPLYTO",
      notify: ["processed"],
    });
  });

  it("a new message gets this session's conversation with that agent: the same for every send to it, another for another agent or session", async () => {
    const { send } = load(config());
    await send.execute("c1", { to: "bob", text: "one" });
    await send.execute("c2", { to: "bob", text: "two" });
    await send.execute("c3", { to: "carol", text: "three" });
    await send.execute("c4", { to: "bob", text: "four", conversationId: "chosen-conversation" });
    const other = load(config(), { sessionKey: "agent:main:hook:test:other-user" });
    await other.send.execute("c5", { to: "bob", text: "five" });
    const ids = connector.calls.map((call) => (call.body as { conversationId?: string }).conversationId);
    expect(ids[0]).toBe(ids[1]);
    expect(new Set([ids[0], ids[2], ids[4]]).size).toBe(3);
    expect(ids[3]).toBe("chosen-conversation");
  });

  it("still sends from a session whose key the header cannot carry, without the header", async () => {
    const { send } = load(config(), { sessionKey: "agent:main:telegram:direct:+4912345" });
    const result = await send.execute("call-3", { to: "bob", text: "hi" });
    expect(connector.calls).toHaveLength(1);
    expect(connector.calls[0]?.headers[HEADERS.sessionKey]).toBeUndefined();
    expect(result.details.outboundId).toBe(accepted.outboundId);
  });

  const big = "x".repeat(limits.MAX_PAYLOAD_BYTES);
  it.each([
    ["a recipient that is no agent id", { to: "Bob!", text: "hi" }, "invalid_recipient"],
    ["a recipient too short", { to: "bo", text: "hi" }, "invalid_recipient"],
    ["neither to nor inReplyTo", { text: "hi" }, "missing_recipient"],
    ["both text and payload", { to: "bob", text: "hi", payload: { a: 1 } }, "invalid_message"],
    ["neither text nor payload", { to: "bob" }, "invalid_message"],
    ["an empty text", { to: "bob", text: "" }, "invalid_message"],
    ["a payload over 256 KiB", { to: "bob", payload: big }, "payload_too_large"],
    ["a text over 256 KiB", { to: "bob", text: big }, "payload_too_large"],
    ["ttlSeconds 0", { to: "bob", text: "hi", ttlSeconds: 0 }, "invalid_ttl"],
    ["ttlSeconds over 7 days", { to: "bob", text: "hi", ttlSeconds: 604_801 }, "invalid_ttl"],
    ["a fractional ttlSeconds", { to: "bob", text: "hi", ttlSeconds: 1.5 }, "invalid_ttl"],
    ["an unknown priority", { to: "bob", text: "hi", priority: "urgent" }, "invalid_priority"],
    ["an unknown receipt kind", { to: "bob", text: "hi", notify: ["read"] }, "invalid_notify"],
    ["a malformed inReplyTo", { inReplyTo: "short", text: "hi" }, "invalid_reference"],
    ["an unknown argument", { to: "bob", message: "hi" }, "invalid_arguments"],
  ])("refuses %s and sends nothing", async (_what, params, code) => {
    const { send } = load(config());
    const error = await failure(send.execute("call-bad", params));
    expect(error.code).toBe(code);
    expect(connector.calls).toHaveLength(0);
  });

  it("a payload of exactly 256 KiB as JSON goes", async () => {
    const { send } = load(config());
    await send.execute("call-edge", { to: "bob", payload: "x".repeat(limits.MAX_PAYLOAD_BYTES - 2) });
    expect(connector.calls).toHaveLength(1);
  });

  it("connector down: says it is not reachable and nothing was sent", async () => {
    const closed = new FakeConnector();
    await closed.start();
    await closed.close();
    const { send } = load({ ...config(), connectorUrl: closed.url });
    const error = await failure(send.execute("call-down", { to: "bob", text: "hi" }));
    expect(error.code).toBe("connector_unreachable");
    expect(error.message).toContain(closed.url);
  });

  it("a connector that does not answer within timeoutMs is reported unreachable", async () => {
    connector.route = () => {}; // never answers; the plugin's own timeout must end the call
    const { send } = load({ ...config(), timeoutMs: 200 });
    const error = await failure(send.execute("call-slow", { to: "bob", text: "hi" }));
    expect(error.code).toBe("connector_unreachable");
  });

  it("a wrong token or none: the connector's 401 code, nothing queued", async () => {
    const wrong = join(scratch, "wrong-token");
    writeFileSync(wrong, "another-token-0123456789abcdef\n");
    expect(
      (await failure(load({ ...config(), apiTokenFile: wrong }).send.execute("c", { to: "bob", text: "hi" }))).code,
    ).toBe("invalid_token");
    const none = load({ connectorUrl: connector.url });
    expect((await failure(none.send.execute("c", { to: "bob", text: "hi" }))).code).toBe("missing_credentials");
  });

  it("a token file that is not there (connector never started) is an error before anything is sent", async () => {
    const { send } = load({ ...config(), apiTokenFile: join(scratch, "no-such-token") });
    expect((await failure(send.execute("c", { to: "bob", text: "hi" }))).code).toBe("api_token_unreadable");
    expect(connector.calls).toHaveLength(0);
  });

  it("passes on the connector's own refusal code (e.g. a reply to a message it never received)", async () => {
    connector.route = (_call, res) => refuse(res, 400, "invalid_request");
    const { send } = load(config());
    const error = await failure(send.execute("c", { inReplyTo: "msg_01JUNKNOWN", text: "hi" }));
    expect(error.code).toBe("invalid_request");
    expect(error.message).toContain("invalid_request");
    connector.route = (_call, res) => refuse(res, 507, "queue_full", { retryAfterSeconds: 5 });
    expect((await failure(send.execute("c", { to: "bob", text: "hi" }))).code).toBe("queue_full");
  });
});

describe("clawrelay_status", () => {
  it("without arguments: the link state and the counts, from GET /v1/status", async () => {
    connector.route = (_call, res) =>
      json(res, 200, {
        agentId: "alice",
        link: {
          state: "connected",
          role: "active",
          relayUrl: "https://relay.example",
          connectedSince: 0,
          lastError: null,
        },
        counts: { inboxPending: 2, outbox: { queued: 1, sending: 0, sent: 9, failed: 3 }, deadLetters: 0 },
        metrics: { lots: "of detail the model does not need" },
      });
    const result = await load(config()).status.execute("s", {});
    expect(connector.calls[0]).toMatchObject({ method: "GET", path: "/v1/status" });
    expect(connector.calls[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(result.details.summary).toEqual({
      agentId: "alice",
      link: {
        state: "connected",
        role: "active",
        relayUrl: "https://relay.example",
        connectedSince: new Date(0).toISOString(),
      },
      inboxPending: 2,
      outbox: { queued: 1, sending: 0, failed: 3 },
      deadLetters: 0,
    });
  });

  it("with outboundId: that message's state and receipts", async () => {
    connector.route = (call, res) =>
      call.path === "/v1/outbound/out_01JTEST"
        ? json(res, 200, {
            outboundId: "out_01JTEST",
            to: "bob",
            state: "sent",
            messageId: "msg_01J",
            receipts: [{ status: "expired", at: 1000, reason: "ttl", messageId: "msg_01J" }],
            trace: [{ hop: "outbox" }],
          })
        : refuse(res, 404, "not_found");
    const { status } = load(config());
    const result = await status.execute("s", { outboundId: "out_01JTEST" });
    expect(result.details.summary).toMatchObject({
      outboundId: "out_01JTEST",
      state: "sent",
      receipts: [{ status: "expired", at: new Date(1000).toISOString(), reason: "ttl" }],
    });
    expect((await failure(status.execute("s", { outboundId: "out_unknown" }))).code).toBe("not_found");
    expect((await failure(status.execute("s", { outboundId: "../v1/status" }))).code).toBe("invalid_reference");
  });
});
