import { env } from "cloudflare:workers";
import { metricsShardOf, percentile, type SessionSummary } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import type { StatusAggregate } from "../../src/metrics/operator-status.js";
import { adminCall } from "../support/agents.js";
import { knownAgent, sendOk, uniqueId } from "../support/session.js";
import { advanceClock, connect, fireAlarm } from "../support/socket.js";
import { parseExposition, sampleValue } from "./exposition.js";

const HOUR = 3_600_000;
const FIVE_MINUTES = 300_000;

async function status(): Promise<StatusAggregate> {
  const res = await adminCall("GET", "/v1/status");
  expect(res.status).toBe(200);
  return (await res.json()) as StatusAggregate;
}

async function metrics() {
  const res = await adminCall("GET", "/v1/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(await res.text());
}

function reportTo(summary: SessionSummary): Promise<void> {
  const shard = env.METRICS_SHARD.get(env.METRICS_SHARD.idFromName(`shard-${metricsShardOf(summary.agentId)}`));
  return shard.report(summary);
}

function syntheticSummary(
  agentId: string,
  now: number,
  acks: number[],
  extra: Partial<SessionSummary> = {},
): SessionSummary {
  const histogram = new Array<number>(21).fill(0);
  for (const [bucket, count] of acks.entries()) histogram[bucket] = count;
  const lane = { items: 0, bytes: 0, oldestQueuedAt: null };
  return {
    agentId,
    at: now,
    known: true,
    connections: [{ connectorId: "c1", role: "active", connectedAt: now - 1000, lastPingAt: null }],
    queue: {
      items: 3,
      bytes: 300,
      inFlight: 1,
      oldestQueuedAt: now - 60_000,
      lanes: {
        critical: { ...lane },
        normal: { items: 2, bytes: 200, oldestQueuedAt: now - 60_000 },
        low: { items: 1, bytes: 100, oldestQueuedAt: now - 1000 },
      },
      receipts: { items: 0, bytes: 0 },
    },
    breaker: { state: "open", consecutiveFailures: 5, openedAt: now - 5000 },
    receiptBreakers: [{ destination: "https://other.example", state: "half_open", consecutiveFailures: 3 }],
    hours: [
      {
        hour: Math.floor(now / HOUR) * HOUR,
        counters: [
          { name: "messages_in", labels: { peer: "alice" }, value: 7 },
          { name: "messages_out", labels: { peer: "alice", outcome: "acked" }, value: 6 },
          { name: "messages_out", labels: { peer: "alice", outcome: "expired" }, value: 1 },
          { name: "auth_failures", labels: { code: "invalid_signature" }, value: 2 },
        ],
        histograms: { ack_latency_ms: histogram },
      },
    ],
    recentFailures: [
      {
        messageId: "01JAAAAAAAAAAAAAAAAAAAAAAA",
        correlationId: "corr-1",
        from: "alice",
        status: "expired",
        at: now - 10,
        reason: null,
      },
    ],
    ...extra,
  };
}

describe("/v1/status and /v1/metrics over reported summaries", () => {
  it("aggregates known summaries: counts, totals, percentiles, breakers, worst queues, failures", async () => {
    const now = Date.now();
    const a = uniqueId("agg-a");
    const b = uniqueId("agg-b");
    // Bucket 3 is (5, 10] ms, bucket 6 is (50, 100] ms.
    await reportTo(syntheticSummary(a, now, [0, 0, 0, 90]));
    await reportTo(syntheticSummary(b, now, [0, 0, 0, 0, 0, 0, 10]));
    const view = await status();
    expect(view.agents.reporting).toBeGreaterThanOrEqual(2);
    expect(view.totals.messagesIn).toBeGreaterThanOrEqual(14);
    expect(view.totals.byOutcome.expired).toBeGreaterThanOrEqual(2);
    const histogram = new Array<number>(21).fill(0);
    histogram[3] = 90;
    histogram[6] = 10;
    // Only these two agents report ack latencies in this file's storage before this test.
    expect(view.latency.ackMs.p50).toBe(percentile(histogram, 0.5));
    expect(view.latency.ackMs.p99).toBe(percentile(histogram, 0.99));
    expect(
      view.openBreakers
        .filter((x) => x.agentId === a)
        .map((x) => x.kind)
        .sort(),
    ).toEqual(["delivery", "receipt"]);
    expect(view.worstQueues.some((q) => q.agentId === a && q.lanes.normal === 2)).toBe(true);
    expect(view.recentFailures.some((f) => f.agentId === b && f.correlationId === "corr-1")).toBe(true);
    expect(view.shards).toMatchObject({ total: 16, answered: 16, failed: [] });

    const families = await metrics();
    for (const [name, family] of families) expect(family.help, name).not.toBe("");
    expect(families.get("clawrelay_messages_in_total")?.type).toBe("counter");
    expect(sampleValue(families, "clawrelay_queue_items", { agent: a, lane: "normal" })).toBe(2);
    expect(sampleValue(families, "clawrelay_delivery_breaker_state", { agent: a })).toBe(2);
    expect(
      sampleValue(families, "clawrelay_receipt_breaker_state", { agent: b, destination: "https://other.example" }),
    ).toBe(1);
    expect(sampleValue(families, "clawrelay_agent_connected", { agent: b })).toBe(1);
    expect(
      sampleValue(families, "clawrelay_auth_failures_total", { code: "invalid_signature" }),
    ).toBeGreaterThanOrEqual(4);
    // Histograms: cumulative, le-ordered, +Inf equals _count.
    const ack = families.get("clawrelay_ack_latency_seconds");
    expect(ack?.type).toBe("histogram");
    const buckets = ack!.samples.filter((s) => s.name.endsWith("_bucket"));
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)?.labels.le).toBe("+Inf");
    expect(sampleValue(families, "clawrelay_ack_latency_seconds", {}, "clawrelay_ack_latency_seconds_count")).toBe(
      buckets.at(-1)!.value,
    );
    expect(
      sampleValue(families, "clawrelay_ack_latency_seconds", { le: "0.01" }, "clawrelay_ack_latency_seconds_bucket"),
    ).toBe(90);
  });

  it("an older summary arriving late does not overwrite a newer one", async () => {
    const now = Date.now();
    const id = uniqueId("late");
    await reportTo(syntheticSummary(id, now, [1]));
    await reportTo(
      syntheticSummary(id, now - 20_000, [1], { queue: { ...syntheticSummary(id, now, []).queue, items: 99 } }),
    );
    const families = await metrics();
    expect(sampleValue(families, "clawrelay_queue_items", { agent: id, lane: "normal" })).toBe(2);
    expect(sampleValue(families, "clawrelay_queue_in_flight", { agent: id })).toBe(1);
  });

  it("carries the last 6 h in 5-minute buckets beside the hours, whose totals stay the 48 h ones", async () => {
    const now = Date.now();
    const id = uniqueId("fine");
    const bucket = Math.floor(now / FIVE_MINUTES) * FIVE_MINUTES;
    const hours = syntheticSummary(id, now, []).hours;
    await reportTo(
      syntheticSummary(id, now, [], {
        fiveMinutes: hours.map((h) => ({ start: bucket, counters: h.counters, histograms: h.histograms })),
      }),
    );
    const view = await status();
    const points = view.rates.fiveMinute;
    expect(points).toHaveLength(72);
    expect(points.at(-1)?.start).toBe(bucket);
    expect(points.every((p, i) => i === 0 || p.start - (points[i - 1]?.start ?? 0) === FIVE_MINUTES)).toBe(true);
    expect(points.at(-1)?.messagesIn).toBeGreaterThanOrEqual(7);
    expect(view.totals.messagesIn).toBe(view.rates.hourly.reduce((sum, p) => sum + p.messagesIn, 0));
  });

  it("a real session reports its traffic: messages in and acked show up in both views", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    for (let i = 0; i < 3; i++) await sendOk(alice, bob, { payload: i });
    socket.ack((await socket.items(3)).map((item) => item.id));
    // Reports are throttled to one per 10 s: move bob's clock past it and run the alarm.
    await expect
      .poll(async () => {
        await advanceClock(bob.id, 11_000);
        await fireAlarm(bob.id);
        const families = await metrics();
        return sampleValue(families, "clawrelay_agent_connected", { agent: bob.id });
      })
      .toBe(1);
    await expect
      .poll(async () => {
        const families = await metrics();
        return sampleValue(families, "clawrelay_queue_items", { agent: bob.id, lane: "normal" });
      })
      .toBe(0);
    const view = await status();
    expect(view.agents.connected).toBeGreaterThanOrEqual(1);
    const before = view.totals.delivered;
    expect(before).toBeGreaterThanOrEqual(3);
    socket.close();
  });
});
