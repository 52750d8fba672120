import { afterEach, describe, expect, it } from "vitest";
import { type ParsedFamily, parseExposition, sampleValue } from "../../../proxy/test/operator/exposition.js";
import { messageItem, waitUntil } from "./helpers/common.js";
import { startTestConnector, type TestConnector } from "./helpers/connector.js";
import type { FakeRelay, RelayConnection } from "./helpers/fake-relay.js";
import type { HookAnswer } from "./helpers/hook-server.js";
import { checkMetrics, PROMTOOL_MISSING, promtoolAvailable } from "./helpers/promtool.js";
import { standIns } from "./helpers/stand-ins.js";

// The connector's own Prometheus exposition, `GET /metrics` on the loopback API, read from a real
// daemon between a stand-in relay and a stand-in hook.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function environment(answer: () => HookAnswer) {
  const { dir, relay, hook } = await standIns(cleanups, answer);
  const started = await startTestConnector({
    dataDir: dir,
    relayUrls: [relay.url],
    hookUrl: hook.url(),
    hookBreakerFailures: 2,
    hookBreakerOpenMs: 60_000,
  });
  cleanups.push(() => started.connector.close());
  return { relay, hook, ...started };
}

async function linked(relay: FakeRelay, index: number): Promise<RelayConnection> {
  const connection = await relay.connections.waitFor(() => true, index);
  await connection.frame("reconnect");
  connection.ack("active");
  return connection;
}

async function scrape(connector: TestConnector): Promise<{ text: string; families: Map<string, ParsedFamily> }> {
  const response = await fetch(`http://127.0.0.1:${connector.connector.port}/metrics`, {
    headers: { authorization: `Bearer ${connector.token}` },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const text = await response.text();
  return { text, families: parseExposition(text) };
}

describe("connector GET /metrics", () => {
  it("needs the API token like every route but /healthz", async () => {
    const { connector } = await environment(() => ({ status: 200 }));
    const url = `http://127.0.0.1:${connector.port}/metrics`;
    const missing = await fetch(url);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("missing_credentials");
    const wrong = await fetch(url, { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("invalid_token");
    const post = await fetch(url, { method: "POST", headers: { authorization: "Bearer x" } });
    expect(post.status).toBe(401);
  });

  it("shows hook calls and latency, the breaker, inbox, dead letters, link and reconnects", async () => {
    let answer: HookAnswer = { status: 200 };
    const started = await environment(() => answer);
    const { relay, hook } = started;
    let connection = await linked(relay, 0);
    let { families } = await scrape(started);
    expect(sampleValue(families, "clawrelay_connector_link_connected")).toBe(1);
    expect(sampleValue(families, "clawrelay_connector_link_role", { role: "active" })).toBe(1);
    expect(sampleValue(families, "clawrelay_connector_link_state", { state: "connected" })).toBe(1);
    expect(sampleValue(families, "clawrelay_connector_reconnects_total")).toBe(0);
    expect(sampleValue(families, "clawrelay_connector_breaker_open", { breaker: "hook" })).toBe(0);
    expect(sampleValue(families, "clawrelay_connector_info", { agent: "bob-agent" })).toBe(1);

    // Two delivered, then one the hook refuses (400: dead-lettered at once).
    connection.send({ type: "deliver", items: [messageItem(), messageItem()] });
    await waitUntil(() => hook.calls.items.length === 2, 5_000, "two hook calls");
    answer = { status: 400 };
    connection.send({ type: "deliver", items: [messageItem()] });
    await waitUntil(() => hook.calls.items.length === 3, 5_000, "the refused call");
    await waitUntil(() => started.connector.store.counts().deadLetters === 1, 5_000, "a dead letter");
    families = (await scrape(started)).families;
    const calls = (outcome: string) =>
      sampleValue(families, "clawrelay_connector_hook_calls_total", { kind: "message", outcome });
    expect([calls("delivered"), calls("rejected"), calls("retry")]).toEqual([2, 1, 0]);
    const latency = (suffix: string) =>
      sampleValue(
        families,
        "clawrelay_connector_hook_latency_seconds",
        { kind: "message" },
        `clawrelay_connector_hook_latency_seconds${suffix}`,
      );
    expect(latency("_count")).toBe(3);
    expect(latency("_sum")).toBeGreaterThan(0);
    expect(sampleValue(families, "clawrelay_connector_dead_letters")).toBe(1);
    expect(sampleValue(families, "clawrelay_connector_inbox_items")).toBe(0);

    // The hook fails: the breaker opens after two failures and the item waits in the inbox.
    answer = { status: 503 };
    connection.send({ type: "deliver", items: [messageItem()] });
    await waitUntil(() => started.connector.status().breakers.hook === "open", 5_000, "the hook breaker open");
    families = (await scrape(started)).families;
    expect(sampleValue(families, "clawrelay_connector_breaker_open", { breaker: "hook" })).toBe(1);
    expect(sampleValue(families, "clawrelay_connector_inbox_items")).toBe(1);
    expect(sampleValue(families, "clawrelay_connector_inbox_oldest_age_seconds")).toBeGreaterThanOrEqual(0);
    expect(calls("retry")).toBeGreaterThanOrEqual(2);

    // The relay drops the link: down, then up again counts one reconnect.
    connection.socket.close(1012, "restart");
    await waitUntil(() => started.connector.link.status().state !== "connected", 5_000, "the link down");
    families = (await scrape(started)).families;
    expect(sampleValue(families, "clawrelay_connector_link_connected")).toBe(0);
    expect(sampleValue(families, "clawrelay_connector_link_role", { role: "active" })).toBe(0);
    connection = await linked(relay, 1);
    await waitUntil(() => started.connector.link.status().state === "connected", 5_000, "the link up again");
    families = (await scrape(started)).families;
    expect(sampleValue(families, "clawrelay_connector_reconnects_total")).toBe(1);
    expect(sampleValue(families, "clawrelay_connector_link_connected")).toBe(1);
  });

  it.skipIf(PROMTOOL_MISSING !== null && !process.env.CI)(
    `passes promtool check metrics${PROMTOOL_MISSING ? ` (${PROMTOOL_MISSING})` : ""}`,
    async () => {
      expect(promtoolAvailable()).toBe(true);
      const started = await environment(() => ({ status: 200 }));
      const connection = await linked(started.relay, 0);
      connection.send({ type: "deliver", items: [messageItem()] });
      await waitUntil(() => started.hook.calls.items.length === 1, 5_000, "a hook call");
      const { text } = await scrape(started);
      expect(checkMetrics(text)).toEqual({ status: 0, output: "" });
      // And a known-bad exposition is refused, so the check can fail.
      expect(checkMetrics('# TYPE clawrelay_x counter\nclawrelay_x{a="1"} 1\nclawrelay_x{a="1"} 2\n').status).not.toBe(
        0,
      );
    },
  );
});
