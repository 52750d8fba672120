import { errorText, getJson } from "./api.js";
import { attentionPanel } from "./attention.js";
import { currentRange, pruneCharts, RANGES, rangePicker, timeChart } from "./charts.js";
import { ago, badge, byId, el, empty, facts, ms, replace, row, setState, table, time } from "./dom.js";
import { isConnected } from "./health.js";
import { failuresTable, flowCharts } from "./overview.js";
import { addSample, type QueueSample } from "./samples.js";
import { type AgentView, agentViewSchema, type Connection, LANES } from "./schemas.js";

const REFRESH_MS = 10_000;
const TOKEN_WARN_MS = 7 * 86_400_000;

const tone = (state: string) => (state === "closed" ? "ok" : state === "half_open" ? "warn" : "bad");

function connectionsTable(connections: readonly Connection[], now: number): HTMLElement {
  if (connections.length === 0) return empty("No connector is connected.");
  return table(
    "connections-table",
    [
      "connector",
      "role",
      "connected",
      "last ping",
      "hook breaker",
      "hook error",
      "inbox",
      "dead letters",
      "outbox",
      "token expires",
      "version",
    ],
    connections.map((c) => {
      const h = c.health;
      const expiring = h?.tokenExpiresAt != null && h.tokenExpiresAt - now < TOKEN_WARN_MS;
      return row({ "data-connector": c.connectorId, "data-role": c.role }, [
        c.connectorId,
        badge(c.role, c.role === "active" ? "ok" : "muted"),
        ago(c.connectedAt, now),
        ago(c.lastPingAt, now),
        h ? badge(h.hook.breaker, tone(h.hook.breaker)) : "no report yet",
        h?.hook.lastError ?? "–",
        h ? `${h.inbox.pending}${h.inbox.oldestAt ? ` (oldest ${ago(h.inbox.oldestAt, now)})` : ""}` : "–",
        h ? (h.inbox.deadLetters ? badge(String(h.inbox.deadLetters), "bad") : "0") : "–",
        h ? `${h.outbox.pending}${h.outbox.oldestAt ? ` (oldest ${ago(h.outbox.oldestAt, now)})` : ""}` : "–",
        h?.tokenExpiresAt ? (expiring ? badge(time(h.tokenExpiresAt), "warn") : time(h.tokenExpiresAt)) : "–",
        h?.version ?? "–",
      ]);
    }),
  );
}

function summary(view: AgentView): HTMLElement {
  const { status } = view;
  const now = view.generatedAt;
  const connected = isConnected(status.connections);
  const m = status.metrics;
  return facts("agent-facts", [
    ["connection", badge(connected ? "connected" : "offline", connected ? "ok" : "bad")],
    ["registered", status.known ? "yes" : "no"],
    ["queued", `${status.queue.items} (${status.queue.inFlight} in flight)`],
    ["oldest queued", ago(status.queue.oldestQueuedAt, now)],
    ["receipts waiting", String(status.queue.receipts.items)],
    ["delivery breaker", badge(status.breaker.state, tone(status.breaker.state))],
    ...status.receiptBreakers
      .filter((b) => b.state !== "closed")
      .map((b): [string, Node] => [`receipts to ${b.destination}`, badge(b.state, tone(b.state))]),
    [
      "ack p50 / p95 / p99 (48 h)",
      m ? `${ms(m.latencyMs.ack.p50)} / ${ms(m.latencyMs.ack.p95)} / ${ms(m.latencyMs.ack.p99)}` : "–",
    ],
    ["uptime (48 h)", m?.uptimePercent == null ? "–" : `${m.uptimePercent.toFixed(1)} %`],
    ["reconnects (48 h)", m ? String(m.reconnects) : "–"],
  ]);
}

function lanesTable(view: AgentView): HTMLElement {
  const now = view.generatedAt;
  return table(
    "lanes-table",
    ["lane", "items", "bytes", "oldest"],
    LANES.map((lane) => {
      const l = view.status.queue.lanes[lane];
      return row({ "data-lane": lane }, [lane, String(l.items), String(l.bytes), ago(l.oldestQueuedAt, now)]);
    }),
  );
}

function queueChart(samples: readonly QueueSample[], now: number): HTMLElement {
  return timeChart({
    title: "Queue by lane",
    xs: samples.map((s) => s.at),
    from: now - RANGES[currentRange()],
    to: now,
    format: (v) => String(Math.round(v)),
    integer: true,
    note: "sampled every 10 s while this tab watches the agent",
    series: [
      { label: "critical", colour: "--s3", values: samples.map((s) => s.critical) },
      { label: "normal", colour: "--s1", values: samples.map((s) => s.normal) },
      { label: "low", colour: "--s2", values: samples.map((s) => s.low) },
    ],
  });
}

function render(view: AgentView, samples: readonly QueueSample[]): void {
  const now = view.generatedAt;
  const attention = attentionPanel(view.attention, now);
  replace("attention-slot", ...(attention && view.attention.length ? [attention] : []));
  replace("facts", summary(view));
  replace("queue", el("div", { class: "charts" }, [queueChart(samples, now)]), lanesTable(view));
  replace("charts", view.rates ? flowCharts(view.rates, now, currentRange()) : empty("No traffic reported yet."));
  pruneCharts();
  replace("connections", connectionsTable(view.status.connections, now));
  replace("failures", failuresTable(view.failures, "agent-failures-table"));
  setState(`updated ${time(now)}`, false);
}

export function startAgent(): void {
  const agentId = new URLSearchParams(window.location.search).get("id") ?? "";
  byId("agent-name").textContent = agentId;
  document.title = `${agentId} · clawrelay`;
  let latest: { view: AgentView; samples: QueueSample[] } | null = null;
  const load = async () => {
    try {
      const view = await getJson(`/dashboard/api/agents/${encodeURIComponent(agentId)}`, agentViewSchema);
      const lanes = view.status.queue.lanes;
      const samples = addSample(agentId, {
        at: view.generatedAt,
        critical: lanes.critical.items,
        normal: lanes.normal.items,
        low: lanes.low.items,
      });
      latest = { view, samples };
      render(view, samples);
    } catch (error) {
      setState(`no agent view: ${errorText(error)}`, true);
    }
  };
  replace(
    "range-slot",
    rangePicker(() => latest && render(latest.view, latest.samples)),
  );
  void load();
  window.setInterval(() => void load(), REFRESH_MS);
}
