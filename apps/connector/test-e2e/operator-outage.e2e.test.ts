import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SUMMARY_INTERVAL_MS } from "@clawrelay/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition, sampleValue } from "../../../apps/proxy/test/operator/exposition.js";
import { waitUntil } from "../../../scripts/lib/connector.mjs";
import type { HookCall } from "../../../scripts/lib/hook.mjs";
import { LocalRelay } from "../../../scripts/lib/relay.mjs";
import { HEALTH_MIN_INTERVAL_MS } from "../src/daemon/health-report.js";
import { agentWithConnector } from "./support/agents.js";

// The outage of issue 17, replayed: bob's webhook answers 500 while alice sends. The relay learns
// of it only from bob's connector (its `health` frame, PROTOCOL.md §6), so within one health
// interval — plus the relay's own report throttle (sessions report to the metrics shards at most
// every SUMMARY_INTERVAL_MS) — the operator views must show bob's hook failing; once the webhook
// is back, everything is delivered and the views clear. Real `wrangler dev`, real connector
// processes; only the webhooks are stand-ins.
let relay: LocalRelay;

/** What this test reads of `GET /v1/status` (the relay's StatusAggregate, apps/proxy/src/metrics/aggregate.ts). */
interface OperatorStatus {
  attention: { agentId: string; reason: string; since: number; detail: Record<string, unknown> }[];
  openBreakers: { agentId: string; kind: string }[];
}
/** What this test reads of an agent's status (the relay's SessionStatus). */
interface AgentStatus {
  connections: {
    health: { hook: { breaker: string }; inbox: { pending: number; deadLetters: number } } | null;
  }[];
}
const cleanup: (() => Promise<unknown>)[] = [];
const scratch = mkdtempSync(join(tmpdir(), "clawrelay-outage-"));
const MESSAGES = 5;
/** A frame's trip, a report's write and a scrape on a shared, loaded machine. */
const SLACK_MS = 5_000;
/** When a change at the connector must be visible at the relay. */
const VISIBLE_WITHIN_MS = HEALTH_MIN_INTERVAL_MS + SUMMARY_INTERVAL_MS + SLACK_MS;

async function operatorStatus(): Promise<OperatorStatus> {
  const res = await relay.admin("GET", "/v1/status");
  expect(res.status).toBe(200);
  return (await res.json()) as OperatorStatus;
}

async function hookBreakerSeries(agent: string): Promise<number | undefined> {
  const res = await relay.admin("GET", "/v1/metrics");
  expect(res.status).toBe(200);
  return sampleValue(parseExposition(await res.text()), "clawrelay_connector_hook_breaker_open", { agent });
}

async function agentStatus(agent: string): Promise<AgentStatus> {
  const res = await relay.admin("GET", `/v1/agents/${agent}/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as AgentStatus;
}

function payloadN(call: HookCall): number {
  const payload = call.body.item?.payload;
  const n = typeof payload === "object" && payload !== null ? (payload as { n?: unknown }).n : undefined;
  if (typeof n !== "number") throw new Error(`hook call without a numbered payload: ${JSON.stringify(call.body)}`);
  return n;
}

beforeAll(async () => {
  relay = await LocalRelay.start();
});

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await relay?.stop();
});

describe("operator views during a webhook outage", () => {
  it("bob's failing hook shows in /v1/status attention, /v1/metrics and his status, and clears once delivered", async () => {
    const alice = await agentWithConnector(relay, cleanup, { id: "alice", dataDir: join(scratch, "alice") });
    const bob = await agentWithConnector(relay, cleanup, {
      id: "bob",
      dataDir: join(scratch, "bob"),
      // A breaker that opens after three failures and probes every 2 s, and no item given up on
      // for its attempts: the outage is short, and nothing may be dead-lettered during it.
      extra: {
        hookBreakerFailures: 3,
        hookBreakerOpenMs: 2_000,
        hookBackoffBaseMs: 200,
        hookBackoffMaxMs: 1_000,
        hookMaxAttempts: 1_000,
      },
    });
    bob.hook.mode = "fail";
    const sentAt = Date.now();
    for (let n = 0; n < MESSAGES; n++) expect((await alice.connector.send("bob", { n })).status).toBe(202);

    await waitUntil(() => bob.connector.events("hook_breaker_open").length > 0, 30_000, "bob's hook breaker to open");
    const openedAt = Date.now();
    let entry: OperatorStatus["attention"][number] | undefined;
    await waitUntil(
      async () => {
        entry = (await operatorStatus()).attention.find((e) => e.agentId === "bob" && e.reason === "hook_failing");
        return entry !== undefined;
      },
      VISIBLE_WITHIN_MS,
      "bob's hook_failing in /v1/status attention",
      250,
    );
    expect(Date.now() - openedAt).toBeLessThanOrEqual(VISIBLE_WITHIN_MS);
    expect(entry?.detail).toMatchObject({ reason: "hook_failing", lastError: expect.any(String) });
    expect(["open", "half_open"]).toContain(entry?.detail.breaker);
    // Since the oldest message waiting behind the hook (no call ever succeeded): after the sends began.
    expect(entry?.since).toBeGreaterThanOrEqual(sentAt);
    expect(entry?.since).toBeLessThanOrEqual(Date.now());
    expect(await hookBreakerSeries("bob")).toBe(1);
    const [connection] = (await agentStatus("bob")).connections;
    expect(connection?.health?.hook.breaker).not.toBe("closed");
    expect(connection?.health?.inbox.pending).toBeGreaterThan(0);
    const status = await operatorStatus();
    expect(status.openBreakers.some((b) => b.agentId === "bob" && b.kind === "hook")).toBe(true);
    // alice is fine: nothing about her.
    expect(status.attention.filter((e) => e.agentId === "alice")).toEqual([]);

    // The webhook is back: the next probe closes the breaker and every message goes through.
    bob.hook.mode = "ok";
    await bob.hook.waitFor(
      (h) => new Set(h.messages().map(payloadN)).size === MESSAGES,
      60_000,
      "every message at bob's webhook",
    );
    await waitUntil(
      async () => {
        const view = await operatorStatus();
        const [connection] = (await agentStatus("bob")).connections;
        return (
          connection?.health?.hook.breaker === "closed" &&
          connection.health.inbox.pending === 0 &&
          view.attention.every((e) => e.agentId !== "bob") &&
          !view.openBreakers.some((b) => b.agentId === "bob") &&
          (await hookBreakerSeries("bob")) === undefined
        );
      },
      VISIBLE_WITHIN_MS,
      "bob to leave attention, openBreakers and clawrelay_connector_hook_breaker_open",
      250,
    );
    const [after] = (await agentStatus("bob")).connections;
    expect(after?.health?.inbox.deadLetters).toBe(0);
    expect(bob.connector.events("hook_delivered").length).toBeGreaterThanOrEqual(MESSAGES);
  });
});
