import { env } from "cloudflare:workers";
import { bucketIndex, emptyHistogram, metricsShardOf, type SessionSummary } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { ConfigError, relayConfig } from "../../src/config.js";
import type { AgentRow } from "../../src/metrics/digest.js";
import { ADMIN_TOKEN, ORIGIN } from "../support/agents.js";
import { knownAgent, sendOk, statusOf, uniqueId } from "../support/session.js";
import { advanceClock, connect, fireAlarm } from "../support/socket.js";
import { type ParsedFamily, parseExposition, sampleValue } from "./exposition.js";

/**
 * /v1/metrics at scale: RELAY_METRICS_AGENT_SERIES (all, none, a cap), the per-agent failure
 * counter, exact histogram sums and percentiles inside the observed range.
 */

const HOUR = 3_600_000;

async function metrics(agentSeries?: string): Promise<Map<string, ParsedFamily>> {
  const request = new Request(`${ORIGIN}/v1/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const res = await createApp().fetch(
    request,
    agentSeries === undefined ? env : { ...env, RELAY_METRICS_AGENT_SERIES: agentSeries },
  );
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

function shard(agentId: string) {
  return env.METRICS_SHARD.get(env.METRICS_SHARD.idFromName(`shard-${metricsShardOf(agentId)}`));
}

async function agentRow(agentId: string): Promise<AgentRow | undefined> {
  const rollup = await shard(agentId).rollup(Date.now(), true);
  return rollup.agents?.find((row) => row.agentId === agentId);
}

interface Traffic {
  queued?: number;
  failures?: Record<string, number>;
  /** Ack latencies observed this hour, ms. */
  acks?: number[];
}

/** A summary as a session reports it, with ack latency buckets and their exact statistics. */
function summary(agentId: string, now: number, traffic: Traffic = {}): SessionSummary {
  const acks = traffic.acks ?? [];
  const histogram = emptyHistogram();
  for (const ms of acks) histogram[bucketIndex(ms)] = (histogram[bucketIndex(ms)] ?? 0) + 1;
  const stat = (name: string, value: number) => ({ name, labels: { histogram: "ack_latency_ms" }, value });
  const counters = [
    { name: "messages_in", labels: { peer: "alice" }, value: 1 },
    ...Object.entries(traffic.failures ?? {}).map(([outcome, value]) => ({
      name: "messages_out",
      labels: { peer: "alice", outcome },
      value,
    })),
    ...(acks.length > 0
      ? [
          stat("latency_count", acks.length),
          stat(
            "latency_sum_ms",
            acks.reduce((a, b) => a + b, 0),
          ),
          stat("latency_min_ms", Math.min(...acks)),
          stat("latency_max_ms", Math.max(...acks)),
        ]
      : []),
  ];
  const queued = traffic.queued ?? 0;
  const lane = { items: 0, bytes: 0, oldestQueuedAt: null };
  return {
    agentId,
    at: now,
    known: true,
    connections: [],
    queue: {
      items: queued,
      bytes: queued * 10,
      inFlight: 0,
      oldestQueuedAt: queued > 0 ? now - 1000 : null,
      lanes: { critical: lane, normal: { ...lane, items: queued, bytes: queued * 10 }, low: lane },
      receipts: { items: 0, bytes: 0 },
    },
    breaker: { state: "closed", consecutiveFailures: 0, openedAt: null },
    receiptBreakers: [],
    hours: [
      {
        hour: Math.floor(now / HOUR) * HOUR,
        counters,
        histograms: acks.length > 0 ? { ack_latency_ms: histogram } : {},
      },
    ],
    recentFailures: [],
  };
}

const queueSeries = (families: Map<string, ParsedFamily>) =>
  new Set(families.get("clawrelay_queue_items")?.samples.map((s) => s.labels.agent));

describe("RELAY_METRICS_AGENT_SERIES", () => {
  it("all keeps every agent, none drops every per-agent series, N keeps the N most queued then failing", async () => {
    const now = Date.now();
    // Far more queued than anything else in this file, so they are the top of the relay.
    const [most, second, failing, quiet] = ["most", "second", "failing", "quiet"].map((p) => uniqueId(p));
    await shard(most!).report(summary(most!, now, { queued: 9_000_000 }));
    await shard(second!).report(summary(second!, now, { queued: 8_000_000, failures: { expired: 1 } }));
    await shard(failing!).report(summary(failing!, now, { failures: { dead_lettered: 1_000_000 } }));
    await shard(quiet!).report(summary(quiet!, now));

    const all = await metrics("all");
    const reporting = sampleValue(all, "clawrelay_agents_reporting") ?? 0;
    expect(reporting).toBeGreaterThanOrEqual(4);
    for (const id of [most, second, failing, quiet]) expect(queueSeries(all).has(id)).toBe(true);
    expect(sampleValue(all, "clawrelay_metrics_agent_series_dropped")).toBe(0);
    // The default is `all`.
    expect(queueSeries(await metrics())).toEqual(queueSeries(all));

    const none = await metrics("none");
    for (const family of ["clawrelay_queue_items", "clawrelay_agent_connected", "clawrelay_agent_failures_total"]) {
      expect(none.get(family)?.samples ?? [], family).toEqual([]);
    }
    expect(sampleValue(none, "clawrelay_metrics_agent_series_dropped")).toBe(reporting);
    // Relay-wide families stay.
    expect(sampleValue(none, "clawrelay_agents_reporting")).toBe(reporting);

    const capped = await metrics("3");
    expect(queueSeries(capped)).toEqual(new Set([most, second, failing]));
    expect(sampleValue(capped, "clawrelay_metrics_agent_series_dropped")).toBe(reporting - 3);
    const agentsOf = (family: string) => new Set(capped.get(family)?.samples.map((s) => s.labels.agent));
    expect(agentsOf("clawrelay_agent_report_age_seconds")).toEqual(new Set([most, second, failing]));
    expect(agentsOf("clawrelay_agent_failures_total")).toEqual(new Set([second, failing]));
  });

  it("reads all, none or a positive integer, and refuses anything else naming the var", () => {
    const read = (value: string) => {
      // The generated Env types the var as its wrangler.toml value; a fresh env object per read.
      const withVar = { ...env, RELAY_METRICS_AGENT_SERIES: value } as unknown as Env;
      return relayConfig(withVar).RELAY_METRICS_AGENT_SERIES;
    };
    expect(relayConfig({ ...env }).RELAY_METRICS_AGENT_SERIES).toBe("all");
    expect([read("all"), read("none"), read("25")]).toEqual(["all", "none", 25]);
    for (const bad of ["0", "-3", "2.5", "some", ""]) {
      expect(() => read(bad), bad).toThrow(ConfigError);
      expect(() => read(bad), bad).toThrow(/RELAY_METRICS_AGENT_SERIES/);
    }
  });
});

describe("per-agent failure counter", () => {
  it("has no series for an agent until a failure, then one per kind that happened", async () => {
    const id = uniqueId("fails");
    const now = Date.now();
    await shard(id).report(summary(id, now));
    let families = await metrics();
    expect(families.get("clawrelay_agent_failures_total")?.type).toBe("counter");
    expect(families.get("clawrelay_agent_failures_total")?.samples.filter((s) => s.labels.agent === id)).toEqual([]);

    await shard(id).report(summary(id, now + 1, { failures: { expired: 2, shed: 1 } }));
    families = await metrics();
    const samples = families.get("clawrelay_agent_failures_total")?.samples.filter((s) => s.labels.agent === id);
    expect(samples?.map((s) => [s.labels.kind, s.value]).sort()).toEqual([
      ["expired", 2],
      ["shed", 1],
    ]);
  });
});

describe("latency histograms", () => {
  it("_sum is the exact sum of the observations, and percentiles stay inside their range", async () => {
    const before = await metrics("none");
    const sumOf = (families: Map<string, ParsedFamily>) =>
      sampleValue(families, "clawrelay_ack_latency_seconds", {}, "clawrelay_ack_latency_seconds_sum") ?? 0;
    const id = uniqueId("sums");
    // 3 and 7 ms share no bucket with 151 ms; midpoints would give 0.0035 + 0.0075 + 0.15.
    await shard(id).report(summary(id, Date.now(), { acks: [3, 7, 151] }));
    const after = await metrics("none");
    expect(sumOf(after) - sumOf(before)).toBeCloseTo(0.161, 9);
    const row = await agentRow(id);
    expect(row?.latency.ackMs.count).toBe(3);
    expect(row?.latency.ackMs.p99).toBeLessThanOrEqual(151);
    expect(row?.latency.ackMs.p50).toBeGreaterThanOrEqual(3);
  });

  it("one real 150 ms ack: p50 = p95 = p99 = that latency, and _sum grows by exactly it", async () => {
    const sumAndCount = async () => {
      const families = await metrics("none");
      const pick = (suffix: string) =>
        sampleValue(families, "clawrelay_ack_latency_seconds", {}, `clawrelay_ack_latency_seconds${suffix}`) ?? 0;
      return { sum: pick("_sum"), count: pick("_count") };
    };
    const before = await sumAndCount();
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    await sendOk(alice, bob, { payload: 1 });
    const items = await socket.items(1);
    await advanceClock(bob.id, 150);
    socket.ack(items.map((item) => item.id));
    // The ack lands before bob's clock moves again, or it would count the extra time too.
    await expect.poll(async () => (await statusOf(bob)).queue.inFlight).toBe(0);
    // Reports go at most every 10 s: move bob's clock past that and run the alarm.
    let latency: AgentRow["latency"]["ackMs"] | undefined;
    await expect
      .poll(async () => {
        await advanceClock(bob.id, 11_000);
        await fireAlarm(bob.id);
        latency = (await agentRow(bob.id))?.latency.ackMs;
        return latency?.count;
      })
      .toBe(1);
    const { p50, p95, p99 } = latency!;
    // 150 ms of bob's clock plus the real time the ack took to land (unknown, so no upper bound).
    expect(p50).toBeGreaterThanOrEqual(150);
    expect([p95, p99]).toEqual([p50, p50]);
    const after = await sumAndCount();
    expect(after.count - before.count).toBe(1);
    expect((after.sum - before.sum) * 1000).toBeCloseTo(p50!, 6);
    socket.close();
  });
});
