import { errorText, getJson } from "./api.js";
import { attentionPanel } from "./attention.js";
import { currentRange, pruneCharts, RANGES, type RangeName, rangePicker, timeChart } from "./charts.js";
import { agentLink, ago, badge, el, empty, ms, replace, row, setState, table, time, traceLink } from "./dom.js";
import { hookState, isConnected } from "./health.js";
import { type AgentRow, type Failure, type HourPoint, type Overview, overviewSchema, type Status } from "./schemas.js";

const REFRESH_MS = 10_000;

function cards(status: Status): HTMLElement {
  const { totals, latency: l } = status;
  const items: [string, string][] = [
    ["agents connected", `${status.agents.connected} / ${status.agents.known}`],
    ["messages in (48 h)", String(totals.messagesIn)],
    ["delivered", String(totals.delivered)],
    ["failed", String(totals.failed)],
    ["refused requests (48 h)", String(status.refused.total)],
    ["in / s (last hour)", status.rates.lastHourInPerSecond.toFixed(3)],
    ["ack p50 / p95 / p99", `${ms(l.ackMs.p50)} / ${ms(l.ackMs.p95)} / ${ms(l.ackMs.p99)}`],
    ["open breakers", String(status.openBreakersTotal)],
    ["shards answering", `${status.shards.answered} / ${status.shards.total}`],
    ["revocation list", status.revocations.state],
  ];
  return el(
    "div",
    { class: "cards" },
    items.map(([label, value]) =>
      el("div", { class: "card" }, [el("div", { class: "label" }, [label]), el("div", { class: "value" }, [value])]),
    ),
  );
}

const HOUR_MS = 3_600_000;
const FINE_MS = 300_000;

/** The overview's (the whole relay's) or one agent's series. */
type FlowRates = Pick<Status["rates"], "hourly" | "fiveMinute">;

interface Point {
  at: number;
  messagesIn: number;
  delivered: number;
  failed: number;
  ackMs: HourPoint["ackMs"];
}

/**
 * The points a range shows: 5-minute buckets for 1 h and 6 h (12 and 72 points), hours for
 * 48 h, and hours everywhere from a relay without the 5-minute series. Each bucket is drawn at
 * its start, so the current bucket shows in every range.
 */
function pointsFor(rates: FlowRates, now: number, range: RangeName): { points: Point[]; bucketMs: number } {
  const from = now - RANGES[range];
  const fine = range === "48h" ? undefined : rates.fiveMinute;
  const points: Point[] = fine
    ? fine.map((p) => ({ ...p, at: p.start }))
    : rates.hourly.map((p) => ({ ...p, at: p.hour }));
  return { points: points.filter((p) => p.at > from && p.at <= now), bucketMs: fine ? FINE_MS : HOUR_MS };
}

export function flowCharts(rates: FlowRates, now: number, range: RangeName): HTMLElement {
  const { points, bucketMs } = pointsFor(rates, now, range);
  const per = bucketMs === FINE_MS ? "5 minutes" : "hour";
  const span = {
    from: now - RANGES[range],
    to: now,
    xs: points.map((p) => p.at),
    bucketMs,
  };
  const count = (v: number) => String(Math.round(v));
  // The titles stay the charts' identity across ranges (so a range switch keeps the canvas).
  return el("div", { class: "charts" }, [
    timeChart({
      ...span,
      title: "Throughput per hour",
      caption: `Throughput per ${per}`,
      note: `totals per ${per}, each at the start of its bucket`,
      format: count,
      integer: true,
      series: [
        { label: "in", colour: "--s1", values: points.map((p) => p.messagesIn) },
        { label: "delivered", colour: "--s2", values: points.map((p) => p.delivered) },
        { label: "failed", colour: "--s3", values: points.map((p) => p.failed) },
      ],
    }),
    timeChart({
      ...span,
      title: "Ack latency per hour",
      caption: `Ack latency per ${per}`,
      note: `ack percentiles per ${per}, each at the start of its bucket`,
      format: ms,
      series: [
        { label: "p50", colour: "--s1", values: points.map((p) => p.ackMs.p50) },
        { label: "p95", colour: "--s2", values: points.map((p) => p.ackMs.p95) },
        { label: "p99", colour: "--s3", values: points.map((p) => p.ackMs.p99) },
      ],
    }),
  ]);
}

function agentsTable(agents: readonly AgentRow[], total: number, now: number): HTMLElement {
  const head = ["agent", "connection", "roles", "critical", "normal", "low", "in flight", "oldest item", "breaker"];
  const rows = agents.map((a) => {
    const connected = isConnected(a.connections);
    return row({ "data-agent": a.agentId, class: connected ? "" : "offline" }, [
      agentLink(a.agentId),
      badge(connected ? "connected" : "offline", connected ? "ok" : "bad"),
      a.connections.map((c) => c.role).join(", ") || "–",
      String(a.queue.lanes.critical.items),
      String(a.queue.lanes.normal.items),
      String(a.queue.lanes.low.items),
      String(a.queue.inFlight),
      ago(a.queue.oldestQueuedAt, now),
      `${a.breaker.state} / hook ${hookState(a.connections)}`,
    ]);
  });
  const caption =
    agents.length < total ? `first ${agents.length} of ${total} agents (largest queues first)` : `${total} agents`;
  return table("agents-table", [...head.slice(0, 8), "delivery / hook breaker"], rows, caption);
}

export function failuresTable(failures: readonly Failure[], id = "failures-table"): HTMLElement {
  if (failures.length === 0) return empty("No failures in the last 48 hours.");
  return table(
    id,
    ["when", "recipient", "from", "status", "reason", "correlation id"],
    failures.map((f) =>
      row({ "data-message": f.messageId }, [
        time(f.at),
        agentLink(f.agentId),
        f.from,
        badge(f.status, "bad"),
        f.reason ?? "–",
        traceLink(f.agentId, f.messageId, f.correlationId),
      ]),
    ),
  );
}

function problemsOf(status: Status): string[] {
  const problems: string[] = [];
  if (status.shards.failed.length) problems.push(`${status.shards.failed.length} shard(s) missing`);
  if (status.revocations.state === "stale") problems.push("revocation list cannot be refreshed");
  if (status.revocations.state === "expired") problems.push("revocation list too old: agent requests refused");
  return problems;
}

let latest: Overview | null = null;

function drawCharts(): void {
  if (!latest) return;
  replace("charts", flowCharts(latest.status.rates, latest.status.generatedAt, currentRange()));
  pruneCharts();
}

function render(data: Overview): void {
  latest = data;
  const { status } = data;
  const now = status.generatedAt;
  const attention = attentionPanel(status.attention, now, status.attentionTotal);
  replace("attention-slot", ...(attention ? [attention] : []));
  replace("cards", cards(status));
  drawCharts();
  replace("agents", agentsTable(data.agents, data.agentsTotal, now));
  replace("failures", failuresTable(status.recentFailures));
  const problems = problemsOf(status);
  setState(`updated ${time(now)}${problems.length ? ` — ${problems.join("; ")}` : ""}`, problems.length > 0);
}

async function load(): Promise<void> {
  try {
    render(await getJson("/dashboard/api/overview", overviewSchema));
  } catch (error) {
    setState(`refresh failed: ${errorText(error)}`, true);
  }
}

export function startOverview(): void {
  replace("range-slot", rangePicker(drawCharts));
  void load();
  window.setInterval(() => void load(), REFRESH_MS);
}
