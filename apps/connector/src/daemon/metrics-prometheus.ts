import { HISTOGRAM_SIZE, LATENCY_BUCKETS_MS } from "@clawrelay/protocol";
import type { BreakerState } from "./breaker.js";
import type { LinkState, LinkStatus } from "./link-types.js";
import { type ConnectorMetricsSnapshot, HOOK_KINDS, HOOK_OUTCOMES } from "./metrics.js";
import type { StoreCounts } from "./store.js";

/** Text exposition format 0.0.4, as the relay's /v1/metrics. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Every link state (a state added to LinkState and not here fails to compile), one series each. */
const LINK_STATES = Object.keys({
  idle: true,
  connecting: true,
  handshaking: true,
  connected: true,
  backoff: true,
  credentials_rejected: true,
  closed: true,
} satisfies Record<LinkState, true>);

/** What one scrape reads: the in-memory counters, the link, the breakers and the store's counts. */
export interface ConnectorExpositionInput {
  now: number;
  version: string;
  agentId: string;
  connectorId: string;
  metrics: ConnectorMetricsSnapshot;
  link: Pick<LinkStatus, "state" | "role">;
  /** A held hook (it refused our token) delivers nothing until a restart: it counts as open. */
  hook: { breaker: BreakerState; held: boolean };
  /** The outbound breaker of each relay origin sent to. */
  outboundBreakers: Readonly<Record<string, BreakerState>>;
  counts: StoreCounts;
  oldest: { outboxQueuedAt: number | null; inboxPendingAt: number | null };
  /** The identity token's `exp`, ms; null when unknown. */
  tokenExpiresAt: number | null;
}

type Labels = Record<string, string>;
interface Sample {
  suffix?: string;
  labels?: Labels;
  value: number;
}

const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function sampleLine(name: string, sample: Sample): string {
  const labels = Object.entries(sample.labels ?? {});
  const labelText =
    labels.length === 0 ? "" : `{${labels.map(([label, value]) => `${label}="${escapeLabelValue(value)}"`).join(",")}}`;
  const value = Number.isFinite(sample.value) ? String(sample.value) : "NaN";
  return `${name}${sample.suffix ?? ""}${labelText} ${value}`;
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: readonly Sample[]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const sample of samples) this.lines.push(sampleLine(name, sample));
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function histogramSamples(labels: Labels, counts: readonly number[], sumMs: number): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i < HISTOGRAM_SIZE; i++) {
    cumulative += counts[i] ?? 0;
    const upper = LATENCY_BUCKETS_MS[i];
    if (upper !== undefined)
      samples.push({ suffix: "_bucket", labels: { ...labels, le: String(upper / 1000) }, value: cumulative });
  }
  samples.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: cumulative });
  samples.push({ suffix: "_sum", labels, value: sumMs / 1000 });
  samples.push({ suffix: "_count", labels, value: cumulative });
  return samples;
}

const ageSeconds = (now: number, at: number | null): number => (at === null ? 0 : Math.max(0, (now - at) / 1000));
const isOpen = (state: BreakerState): number => (state === "closed" ? 0 : 1);

/**
 * The connector's own Prometheus exposition (`GET /metrics` on the loopback API). Names are
 * `clawrelay_connector_*`; the relay's `clawrelay_connector_hook_breaker_open` and
 * `clawrelay_connector_token_expires_in_seconds` are what connectors report to the relay, so the
 * names here differ from those. A scrape is a handful of indexed COUNT/MIN queries.
 */
export function renderConnectorMetrics(input: ConnectorExpositionInput): string {
  const { metrics, now } = input;
  const out = new Exposition();
  out.family("clawrelay_connector_info", "gauge", "This connector: its agent, connector id and version.", [
    { labels: { agent: input.agentId, connector: input.connectorId, version: input.version }, value: 1 },
  ]);
  out.family("clawrelay_connector_start_time_seconds", "gauge", "When this connector process started, unix seconds.", [
    { value: metrics.startedAt / 1000 },
  ]);
  out.family(
    "clawrelay_connector_hook_calls_total",
    "counter",
    "Calls to the agent's hook by kind (message, receipt) and outcome (delivered, rejected, retry, held).",
    HOOK_KINDS.flatMap((kind) =>
      HOOK_OUTCOMES.map((outcome) => ({
        labels: { kind, outcome },
        value: metrics.hookOutcomes[`${kind}:${outcome}`] ?? 0,
      })),
    ),
  );
  out.family(
    "clawrelay_connector_hook_latency_seconds",
    "histogram",
    "Hook call latency by kind, in seconds; _sum is the exact sum of the observations.",
    HOOK_KINDS.flatMap((kind) =>
      histogramSamples({ kind }, metrics.hookLatency[kind].counts, metrics.hookLatency[kind].sumMs),
    ),
  );
  out.family(
    "clawrelay_connector_breaker_open",
    "gauge",
    "1 while a breaker is open or half-open (the hook's also while the hook is held): breaker hook, or outbound per destination relay.",
    [
      { labels: { breaker: "hook" }, value: input.hook.held ? 1 : isOpen(input.hook.breaker) },
      ...Object.entries(input.outboundBreakers).map(([destination, state]) => ({
        labels: { breaker: "outbound", destination },
        value: isOpen(state),
      })),
    ],
  );
  out.family("clawrelay_connector_inbox_items", "gauge", "Inbox items not yet handed to the agent's hook.", [
    { value: input.counts.inboxPending },
  ]);
  out.family(
    "clawrelay_connector_inbox_oldest_age_seconds",
    "gauge",
    "Age of the oldest inbox item not yet handed to the agent (0 when none).",
    [{ value: ageSeconds(now, input.oldest.inboxPendingAt) }],
  );
  out.family(
    "clawrelay_connector_outbox_items",
    "gauge",
    "Outbound messages not yet accepted by a relay, by state (queued, sending).",
    [
      { labels: { state: "queued" }, value: input.counts.outbox.queued },
      { labels: { state: "sending" }, value: input.counts.outbox.sending },
    ],
  );
  out.family(
    "clawrelay_connector_outbox_oldest_age_seconds",
    "gauge",
    "Age of the oldest outbound message not yet accepted by a relay (0 when none).",
    [{ value: ageSeconds(now, input.oldest.outboxQueuedAt) }],
  );
  out.family("clawrelay_connector_dead_letters", "gauge", "Inbox items given up on, waiting for a replay.", [
    { value: input.counts.deadLetters },
  ]);
  out.family(
    "clawrelay_connector_link_connected",
    "gauge",
    "1 while the link to the relay is up (after reconnect_ack).",
    [{ value: input.link.state === "connected" ? 1 : 0 }],
  );
  out.family(
    "clawrelay_connector_link_role",
    "gauge",
    "1 for the role the relay gave this connection (active, standby); both 0 while the link is down.",
    (["active", "standby"] as const).map((role) => ({
      labels: { role },
      value: input.link.state === "connected" && input.link.role === role ? 1 : 0,
    })),
  );
  out.family(
    "clawrelay_connector_link_state",
    "gauge",
    "1 for the link's current state, 0 for the others.",
    LINK_STATES.map((state) => ({ labels: { state }, value: input.link.state === state ? 1 : 0 })),
  );
  out.family(
    "clawrelay_connector_reconnects_total",
    "counter",
    "Times the link came up again after having been up (since this process started).",
    [{ value: metrics.reconnects }],
  );
  out.family(
    "clawrelay_connector_identity_token_expires_in_seconds",
    "gauge",
    "Time until this connector's identity token expires (negative once expired); no series when unknown.",
    input.tokenExpiresAt === null ? [] : [{ value: (input.tokenExpiresAt - now) / 1000 }],
  );
  return out.text();
}
