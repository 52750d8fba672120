import { HISTOGRAM_SIZE, LATENCY_BUCKETS_MS, PRIORITIES } from "@clawrelay/protocol";
import type { RevocationListHealth } from "../auth/revocations.js";
import type { ShardRollup } from "./aggregate.js";
import { type AgentRow, parseCounterKey } from "./digest.js";
import type { ShardFailure } from "./fanout.js";

/** Text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
interface Sample {
  suffix?: string;
  labels?: Labels;
  value: number;
}

export const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
/** Label names come from session counters: keep them inside Prometheus' alphabet. */
const labelName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
};

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return "";
  return `{${entries.map(([name, value]) => `${labelName(name)}="${escapeLabelValue(value)}"`).join(",")}}`;
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: readonly Sample[]): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const sample of samples) {
      this.lines.push(`${name}${sample.suffix ?? ""}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

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

const BREAKER_STATE: Record<string, number> = { closed: 0, half_open: 1, open: 2 };

function histogramSamples(counts: readonly number[]): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  let sumSeconds = 0;
  for (let i = 0; i < HISTOGRAM_SIZE; i++) {
    const count = counts[i] ?? 0;
    const lower = i === 0 ? 0 : (LATENCY_BUCKETS_MS[i - 1] ?? 0);
    const upper = LATENCY_BUCKETS_MS[i];
    cumulative += count;
    // Bucket midpoints; the overflow bucket has no upper bound, so its lower bound stands in.
    sumSeconds += (count * (upper === undefined ? lower : (lower + upper) / 2)) / 1000;
    if (upper !== undefined)
      samples.push({ suffix: "_bucket", labels: { le: String(upper / 1000) }, value: cumulative });
  }
  samples.push({ suffix: "_bucket", labels: { le: "+Inf" }, value: cumulative });
  samples.push({ suffix: "_sum", value: sumSeconds });
  samples.push({ suffix: "_count", value: cumulative });
  return samples;
}

function agentFamilies(out: Exposition, agents: readonly AgentRow[], now: number): void {
  const each = (pick: (row: AgentRow) => Sample[]) => agents.flatMap(pick);
  out.family(
    "clawrelay_agent_connected",
    "gauge",
    "1 when the agent has an active connector.",
    each((r) => [{ labels: { agent: r.agentId }, value: r.connections.some((c) => c.role === "active") ? 1 : 0 }]),
  );
  out.family(
    "clawrelay_agent_connections",
    "gauge",
    "Open connector sockets of the agent (active and standby).",
    each((r) => [{ labels: { agent: r.agentId }, value: r.connections.length }]),
  );
  out.family(
    "clawrelay_queue_items",
    "gauge",
    "Queued messages by agent and lane.",
    each((r) => PRIORITIES.map((lane) => ({ labels: { agent: r.agentId, lane }, value: r.queue.lanes[lane].items }))),
  );
  out.family(
    "clawrelay_queue_bytes",
    "gauge",
    "Queued payload bytes by agent and lane.",
    each((r) => PRIORITIES.map((lane) => ({ labels: { agent: r.agentId, lane }, value: r.queue.lanes[lane].bytes }))),
  );
  out.family(
    "clawrelay_queue_in_flight",
    "gauge",
    "Items sent to the connector and not yet acknowledged.",
    each((r) => [{ labels: { agent: r.agentId }, value: r.queue.inFlight }]),
  );
  out.family(
    "clawrelay_queue_oldest_age_seconds",
    "gauge",
    "Age of the oldest queued or in-flight item at the agent's last report (0 when empty).",
    each((r) => [
      {
        labels: { agent: r.agentId },
        value: r.queue.oldestQueuedAt === null ? 0 : Math.max(0, (now - r.queue.oldestQueuedAt) / 1000),
      },
    ]),
  );
  out.family(
    "clawrelay_receipt_queue_items",
    "gauge",
    "Receipts queued for the agent (never counted against the caps).",
    each((r) => [{ labels: { agent: r.agentId }, value: r.queue.receipts.items }]),
  );
  out.family(
    "clawrelay_delivery_breaker_state",
    "gauge",
    "Relay to connector circuit breaker: 0 closed, 1 half-open, 2 open, -1 unknown.",
    each((r) => [{ labels: { agent: r.agentId }, value: BREAKER_STATE[r.breaker.state] ?? -1 }]),
  );
  out.family(
    "clawrelay_receipt_breaker_state",
    "gauge",
    "Receipt delivery breaker per destination relay: 0 closed, 1 half-open, 2 open, -1 unknown.",
    each((r) =>
      r.receiptBreakers.map((b) => ({
        labels: { agent: r.agentId, destination: b.destination },
        value: BREAKER_STATE[b.state] ?? -1,
      })),
    ),
  );
  // From the connectors' `health` frames. The breaker series exists only for an agent with a
  // problem, so a healthy fleet adds none; token expiry is one series per reporting agent.
  out.family(
    "clawrelay_connector_hook_breaker_open",
    "gauge",
    "1 for an agent one of whose connectors reports its hook breaker open or half-open (no series otherwise).",
    each((r) =>
      r.connections.some((c) => c.health && c.health.hook.breaker !== "closed")
        ? [{ labels: { agent: r.agentId }, value: 1 }]
        : [],
    ),
  );
  out.family(
    "clawrelay_connector_token_expires_in_seconds",
    "gauge",
    "Time until the soonest identity token expiry its connectors report (negative once expired).",
    each((r) => {
      const expiries = r.connections.flatMap((c) => (c.health?.tokenExpiresAt ? [c.health.tokenExpiresAt] : []));
      if (expiries.length === 0) return [];
      return [{ labels: { agent: r.agentId }, value: (Math.min(...expiries) - now) / 1000 }];
    }),
  );
  out.family(
    "clawrelay_agent_report_age_seconds",
    "gauge",
    "Time since the agent's session last reported its summary.",
    each((r) => [{ labels: { agent: r.agentId }, value: Math.max(0, (now - r.at) / 1000) }]),
  );
}

export interface ExpositionContext {
  version: string;
  uptimeSeconds: number;
  now: number;
  shards: number;
  failed: readonly ShardFailure[];
  revocations: RevocationListHealth;
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
    out.family(
      family.name,
      "histogram",
      `${family.help}, in seconds, over all agents. _sum is approximated from bucket midpoints (the overflow bucket counts at its lower bound).`,
      histogramSamples(counts),
    );
  }
  if (merged.agents) agentFamilies(out, merged.agents, ctx.now);
  return out.text();
}
