import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition, sampleValue } from "../../../apps/proxy/test/operator/exposition.js";
import { ConnectorProcess, waitUntil } from "../../../scripts/lib/connector.mjs";
import { StandInHook } from "../../../scripts/lib/hook.mjs";
import { LocalRelay } from "../../../scripts/lib/relay.mjs";
import { checkMetrics, PROMTOOL_MISSING, promtoolAvailable } from "../test/daemon/helpers/promtool.js";

// `promtool check metrics` over the bytes both real endpoints serve: the relay's /v1/metrics from
// `wrangler dev` (workerd, the same code as production) and a connector process's /metrics,
// after real traffic so that every family has series — per-agent gauges, the failure counter of
// an agent whose message expired, histograms with observations.
let relay: LocalRelay;
const cleanup: (() => Promise<unknown>)[] = [];
const scratch = mkdtempSync(join(tmpdir(), "clawrelay-metrics-"));
const runs = PROMTOOL_MISSING === null || Boolean(process.env.CI);

async function relayMetrics(): Promise<string> {
  const res = await fetch(`${relay.url}/v1/metrics`, {
    headers: { authorization: `Bearer ${relay.vars.ADMIN_TOKEN}` },
  });
  expect(res.status).toBe(200);
  return res.text();
}

beforeAll(async () => {
  if (runs) relay = await LocalRelay.start();
});

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await relay?.stop();
});

describe.skipIf(!runs)(`Prometheus endpoints${PROMTOOL_MISSING ? ` (${PROMTOOL_MISSING})` : ""}`, () => {
  it("the relay's /v1/metrics and a connector's /metrics pass promtool check metrics", async () => {
    expect(promtoolAvailable()).toBe(true);
    const hook = await new StandInHook().start();
    cleanup.push(() => hook.close());
    const connectors: Record<string, ConnectorProcess> = {};
    for (const id of ["alice", "bob"]) {
      const connector = new ConnectorProcess({
        agentId: id,
        identityDir: relay.agent(id),
        relayUrls: [relay.url],
        hookUrl: hook.url,
        dataDir: join(scratch, id),
      });
      await connector.start();
      cleanup.push(() => connector.kill());
      connectors[id] = connector;
    }
    // carol is registered and never connects: her message expires, a failure the relay counts.
    expect((await relay.admin("PUT", "/v1/admin/agents/carol")).status).toBe(200);
    const alice = connectors.alice!;
    for (let n = 0; n < 3; n++) expect((await alice.send("bob", { n })).status).toBe(202);
    expect((await alice.send("carol", { n: 99 }, { ttlSeconds: 1 })).status).toBe(202);
    await hook.waitFor((h) => h.messages().length >= 3, 30_000, "bob's three messages");

    // Sessions report to the metrics shards at most every 10 s.
    let text = "";
    await waitUntil(
      async () => {
        text = await relayMetrics();
        const families = parseExposition(text);
        return (
          sampleValue(families, "clawrelay_agent_failures_total", { agent: "carol", kind: "expired" }) === 1 &&
          (sampleValue(families, "clawrelay_ack_latency_seconds", {}, "clawrelay_ack_latency_seconds_count") ?? 0) >= 3
        );
      },
      60_000,
      "carol's expired message and bob's acks in /v1/metrics",
      500,
    );
    const families = parseExposition(text);
    expect(families.get("clawrelay_agent_failures_total")?.samples.map((s) => s.labels.agent)).toEqual(["carol"]);
    expect(
      sampleValue(families, "clawrelay_ack_latency_seconds", {}, "clawrelay_ack_latency_seconds_sum"),
    ).toBeGreaterThan(0);
    expect(checkMetrics(text)).toEqual({ status: 0, output: "" });

    const bob = connectors.bob!;
    const res = await fetch(`${bob.url}/metrics`, { headers: { authorization: `Bearer ${bob.token}` } });
    expect(res.status).toBe(200);
    const connectorText = await res.text();
    const connectorFamilies = parseExposition(connectorText);
    expect(
      sampleValue(connectorFamilies, "clawrelay_connector_hook_calls_total", { kind: "message", outcome: "delivered" }),
    ).toBe(3);
    expect(sampleValue(connectorFamilies, "clawrelay_connector_link_connected")).toBe(1);
    expect(checkMetrics(connectorText)).toEqual({ status: 0, output: "" });
  });
});
