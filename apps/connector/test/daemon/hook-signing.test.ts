import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, type ConnectorConfigInput, parseConnectorConfig } from "../../src/daemon/config.js";
import { messageItem, receiptItem, tempDir, waitUntil } from "./helpers/common.js";
import { startTestConnector } from "./helpers/connector.js";
import { FakeRelay } from "./helpers/fake-relay.js";

// Signed hook calls (PROTOCOL.md §8, Standard Webhooks), checked by an agent's own code: the
// verifier below is written from the spec, not taken from the connector.
const SECRET = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;

/** What an agent does with a call, in the README's few lines: id, timestamp tolerance, HMAC, constant time. */
function verify(secret: string, headers: IncomingHttpHeaders, body: string, nowSeconds: number): boolean {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    const given = Buffer.from(signature ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface RawCall {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A hook that keeps each call's bytes as received; answers from `statuses`, then 200. */
async function rawHook(statuses: number[] = [], body = "{}"): Promise<{ url: string; calls: RawCall[] }> {
  const calls: RawCall[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      calls.push({ path: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(statuses[calls.length - 1] ?? 200, { "content-type": "application/json" });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connectorWith(config: Partial<ConnectorConfigInput> & { hookUrl: string }) {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const relay = await new FakeRelay().start();
  cleanups.push(() => relay.close());
  const started = await startTestConnector({ dataDir: dir.path, relayUrls: [relay.url], ...config });
  cleanups.push(() => started.connector.close());
  const connection = await relay.connections.waitFor(() => true);
  await connection.frame("reconnect");
  connection.ack("active");
  return connection;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("signed hook calls", () => {
  it("clawrelay format: every call verifies; a retry keeps the webhook-id; a receipt is signed too", async () => {
    const hook = await rawHook([503]);
    const connection = await connectorWith({ hookUrl: `${hook.url}/hook`, hookSecret: SECRET });
    const message = messageItem();
    const receipt = receiptItem();
    connection.send({ type: "deliver", items: [message] });
    await waitUntil(() => hook.calls.length === 2, 5_000, "a failed call and its retry");
    connection.send({ type: "deliver", items: [receipt] });
    await waitUntil(() => hook.calls.length === 3, 5_000, "the receipt call");

    for (const call of hook.calls) {
      expect(verify(SECRET, call.headers, call.body, nowSeconds())).toBe(true);
      expect(Math.abs(Number(call.headers["webhook-timestamp"]) - nowSeconds())).toBeLessThanOrEqual(5);
    }
    expect(hook.calls.map((call) => call.headers["webhook-id"])).toEqual([message.id, message.id, receipt.id]);
    // The verifier is not a rubber stamp: another secret, or a changed byte, fails it.
    const other = `whsec_${Buffer.from("another-secret-of-32-bytes-long!").toString("base64")}`;
    const first = hook.calls[0] as RawCall;
    expect(verify(other, first.headers, first.body, nowSeconds())).toBe(false);
    expect(verify(SECRET, first.headers, `${first.body} `, nowSeconds())).toBe(false);
    expect(verify(SECRET, first.headers, first.body, nowSeconds() + 3_600)).toBe(false);
  });

  it("openclaw format: the agent turn is signed the same way", async () => {
    const gateway = await rawHook([], '{"ok":true,"runId":"r","completion":{"status":"ok"}}');
    const connection = await connectorWith({
      hookUrl: `${gateway.url}/unused`,
      hookFormat: "openclaw",
      openclaw: { url: gateway.url, token: "gateway-token" },
      hookSecret: SECRET,
    });
    const message = messageItem();
    connection.send({ type: "deliver", items: [message] });
    await waitUntil(() => gateway.calls.length === 1, 5_000, "the turn");
    const call = gateway.calls[0] as RawCall;
    expect(call.path).toBe("/hooks/agent");
    expect(call.headers["webhook-id"]).toBe(message.id);
    expect(verify(SECRET, call.headers, call.body, nowSeconds())).toBe(true);
  });

  it("without a hookSecret no call carries webhook headers", async () => {
    const hook = await rawHook();
    const connection = await connectorWith({ hookUrl: `${hook.url}/hook` });
    connection.send({ type: "deliver", items: [messageItem()] });
    await waitUntil(() => hook.calls.length === 1, 5_000, "the call");
    expect(Object.keys(hook.calls[0]?.headers ?? {}).filter((name) => name.startsWith("webhook-"))).toEqual([]);
  });

  it("a hookSecret that is not whsec_<base64 of 24-64 bytes> is refused at config load", () => {
    const base = { agentId: "bob-agent", identityDir: "/x", dataDir: "/x", relayUrls: ["https://r.example"] };
    const load = (hookSecret: string) => () =>
      parseConnectorConfig({ ...base, hookUrl: "http://127.0.0.1:1/h", hookSecret });
    for (const bad of ["secret", `whsec_${Buffer.alloc(8).toString("base64")}`, "whsec_not*base64", SECRET.slice(1)]) {
      expect(load(bad)).toThrow(ConfigError);
    }
    expect(load(SECRET)).not.toThrow();
  });
});
