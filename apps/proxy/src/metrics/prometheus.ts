import { HISTOGRAM_SIZE, LATENCY_BUCKETS_MS } from "@clawrelay/protocol";
import type { RevocationListHealth } from "../auth/revocations.js";
import { type AgentSeries, mostInNeed, type ShardRollup } from "./aggregate.js";
import { type AgentRow, counterKey, parseCounterKey } from "./digest.js";
import type { ShardFailure } from "./fanout.js";
import { LATENCY_STAT_COUNTERS } from "./latency-stats.js";
import { agentFamilies } from "./prometheus-agents.js";
import { Exposition, type Sample } from "./prometheus-text.js";

export { PROMETHEUS_CONTENT_TYPE } from "./prometheus-text.js";

/** Session counter names (SessionSummary contract) → exposed counter families. */
const COUNTERS: { source: string; name: string; help: string; labelled?: boolean; scale?: number }[] = [
  { source: "messages_in", name: "clawrelay_messages_in_total", help: "Messages accepted into a relay session queue." },
  {
    source: "messages_out",
    name: "clawrelay_messages_out_total",
    labelled: true,
    help: "Messages leaving a queue, by outcome (acked, processed, failed, expired, shed, dead_lettered).",
  },
  { source: "receipts", name: "clawrelay_receipts_total", help: "Receipts emitted, by status.", labelled: true },
  {
    source: "auth_failures",
    name: "clawrelay_auth_failures_total",
    help: "Refused requests (every 401, and anything the signature checks refused), by code; never by agent.",
    labelled: true,
  },
  { source: "reconnects", name: "clawrelay_reconnects_total", help: "Connector reconnections." },
  {
    source: "connected_ms",
    name: "clawrelay_connected_seconds_total",
    help: "Time with an active connector, summed over agents.",
    scale: 1 / 1000,
  },
];

const HISTOGRAMS: { source: string; name: string; help: string }[] = [
  { source: "ack_latency_ms", name: "clawrelay_ack_latency_seconds", help: "Enqueue to connector ack" },
  {
    source: "processed_latency_ms",
    name: "clawrelay_processed_latency_seconds",
    help: "Enqueue to processed by the agent",
  },
];

function histogramSamples(counts: readonly number[], sumSeconds: number): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i < HISTOGRAM_SIZE; i++) {
    const upper = LATENCY_BUCKETS_MS[i];
    cumulative += counts[i] ?? 0;
    if (upper !== undefined)
      samples.push({ suffix: "_bucket", labels: { le: String(upper / 1000) }, value: cumulative });
  }
  samples.push({ suffix: "_bucket", labels: { le: "+Inf" }, value: cumulative });
  samples.push({ suffix: "_sum", value: sumSeconds });
  samples.push({ suffix: "_count", value: cumulative });
  return samples;
}

export interface ExpositionContext {
  version: string;
  uptimeSeconds: number;
  now: number;
  shards: number;
  failed: readonly ShardFailure[];
  revocations: RevocationListHealth;
  /** RELAY_METRICS_AGENT_SERIES; per-agent families need the rollup's agent rows unless `none`. */
  agentSeries: AgentSeries;
}

/** The agent rows that get series, and how many reporting agents were left out. */
function agentsExposed(merged: ShardRollup, series: AgentSeries): { rows: AgentRow[]; dropped: number } {
  const all = merged.agents ?? [];
  const rows = series === "none" ? [] : series === "all" ? all : mostInNeed(all, series);
  return { rows, dropped: Math.max(0, merged.counts.reporting - rows.length) };
}

const REVOCATION_STATE: Record<RevocationListHealth["state"], number> = {
  unloaded: -1,
  fresh: 0,
  stale: 1,
  expired: 2,
};

/** The whole exposition; per-agent gauges only when the rollup carries agent rows. */
export function renderPrometheus(merged: ShardRollup, ctx: ExpositionContext): string {
  const out = new Exposition();
  out.family("clawrelay_build_info", "gauge", "Relay version.", [{ labels: { version: ctx.version }, value: 1 }]);
  out.family("clawrelay_uptime_seconds", "gauge", "Uptime of the Worker isolate that answered.", [
    { value: ctx.uptimeSeconds },
  ]);
  const failedShards = new Set(ctx.failed.map((f) => f.shard));
  out.family(
    "clawrelay_metrics_shard_up",
    "gauge",
    "1 when the metrics shard answered this scrape; totals miss the agents of a shard at 0.",
    Array.from({ length: ctx.shards }, (_, shard) => ({
      labels: { shard: String(shard) },
      value: failedShards.has(shard) ? 0 : 1,
    })),
  );
  out.family(
    "clawrelay_revocation_list_state",
    "gauge",
    "Revocation list of the isolate that answered: 0 fresh, 1 refresh failing (still served), 2 past RELAY_REVOCATION_MAX_STALE_SECONDS (agent requests get 503), -1 never loaded.",
    [{ value: REVOCATION_STATE[ctx.revocations.state] }],
  );
  out.family(
    "clawrelay_revocation_list_age_seconds",
    "gauge",
    "Time since the answering isolate last loaded the revocation list (0 when never loaded).",
    [{ value: ctx.revocations.ageSeconds ?? 0 }],
  );
  out.family("clawrelay_agents_reporting", "gauge", "Agents whose session reported in the last 48 h.", [
    { value: merged.counts.reporting },
  ]);
  out.family("clawrelay_agents_known", "gauge", "Agents known to the relay (may receive messages).", [
    { value: merged.counts.known },
  ]);
  out.family("clawrelay_agents_connected", "gauge", "Agents with an active connector.", [
    { value: merged.counts.connected },
  ]);

  const counters = Object.entries(merged.cumulative.counters).map(([key, value]) => ({
    ...parseCounterKey(key),
    value,
  }));
  for (const family of COUNTERS) {
    const samples = counters
      .filter((c) => c.name === family.source)
      .map((c) => ({ labels: c.labels, value: c.value * (family.scale ?? 1) }));
    // An unlabelled counter reads 0 before anything happened; a labelled one has no series yet.
    if (samples.length === 0 && !family.labelled) samples.push({ labels: {}, value: 0 });
    out.family(family.name, "counter", family.help, samples);
  }
  for (const family of HISTOGRAMS) {
    const counts = merged.cumulative.histograms[family.source] ?? [];
    const sumMs = merged.cumulative.counters[counterKey(LATENCY_STAT_COUNTERS.sum, { histogram: family.source })] ?? 0;
    out.family(
      family.name,
      "histogram",
      `${family.help}, in seconds, over all agents; _sum is the exact sum of the observations.`,
      histogramSamples(counts, sumMs / 1000),
    );
  }
  const { rows, dropped } = agentsExposed(merged, ctx.agentSeries);
  out.family(
    "clawrelay_metrics_agent_series_dropped",
    "gauge",
    "Reporting agents without per-agent series in this scrape (RELAY_METRICS_AGENT_SERIES none, or past its cap).",
    [{ value: dropped }],
  );
  agentFamilies(out, rows, ctx.now);
  return out.text();
}
