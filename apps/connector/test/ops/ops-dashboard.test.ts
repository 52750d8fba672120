import { describe, expect, it } from "vitest";
import { allPanels, dashboardTargets, readDashboard } from "./dashboard.js";
import {
  CONNECTOR_METRICS,
  HISTOGRAM_METRICS,
  knownSeriesNames,
  relayMetricNames,
  unknownSeries,
} from "./ops-files.js";

// ops/grafana/clawrelay.json: importable (a datasource input, an agent variable) and reading only
// series the relay (names taken from its source now) or the connector exposes, so renaming a
// metric without the dashboard fails here.
const dashboard = readDashboard();
const panels = allPanels(dashboard).filter((panel) => panel.type !== "row");
const targets = dashboardTargets();
const isHistogram = (name: string) => HISTOGRAM_METRICS.some((histogram) => histogram === name);
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's import placeholder, filled in when the dashboard is imported.
const DATASOURCE = { type: "prometheus", uid: "${DS_PROMETHEUS}" };

describe("ops/grafana/clawrelay.json", () => {
  it("asks for its Prometheus datasource on import and uses it everywhere", () => {
    expect(dashboard.__inputs).toContainEqual(
      expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" }),
    );
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    for (const panel of panels)
      expect({ panel: panel.title, ds: panel.datasource }).toEqual({ panel: panel.title, ds: DATASOURCE });
    for (const panel of panels)
      for (const target of panel.targets ?? [])
        expect({ panel: panel.title, ds: target.datasource }).toEqual({ panel: panel.title, ds: DATASOURCE });
  });

  it("has an agent variable drawn from the relay's per-agent series", () => {
    const agent = dashboard.templating.list.find((v) => v.name === "agent");
    expect(agent?.datasource).toEqual(DATASOURCE);
    expect(unknownSeries(agent?.query?.query ?? "", knownSeriesNames())).toEqual([]);
    expect(agent?.query?.query).toMatch(/^label_values\(clawrelay_\w+, agent\)$/);
  });

  it("gives every panel a query, with unique ids and no overlapping tiles", () => {
    for (const panel of panels)
      expect({ panel: panel.title, queries: (panel.targets ?? []).length > 0 }).toEqual({
        panel: panel.title,
        queries: true,
      });
    const ids = allPanels(dashboard).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const tiles = allPanels(dashboard).map((panel) => panel.gridPos);
    const overlaps = (a: (typeof tiles)[number], b: (typeof tiles)[number]) =>
      a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    const overlapping = tiles.flatMap((a, i) =>
      tiles
        .slice(i + 1)
        .filter((b) => overlaps(a, b))
        .map((b) => [a, b]),
    );
    expect(overlapping).toEqual([]);
    for (const tile of tiles) expect(tile.x + tile.w).toBeLessThanOrEqual(24);
  });

  it("reads only series the relay or the connector exposes", () => {
    const known = knownSeriesNames();
    const unknown = targets.flatMap((t) => unknownSeries(t.expr, known).map((name) => `${t.panel}: ${name}`));
    expect(unknown).toEqual([]);
  });

  it("takes percentiles from histogram buckets", () => {
    const quantiles = targets.filter((t) => t.expr.includes("histogram_quantile("));
    expect(quantiles.length).toBeGreaterThanOrEqual(9);
    for (const t of quantiles)
      expect(t.expr).toMatch(/histogram_quantile\(0\.\d+, sum by \((?:[\w, ]+, )?le\) \(rate\(\w+_bucket[{[]/);
  });

  it("shows the relay's traffic, queues, breakers, latency and every connector family", () => {
    const read = new Set(targets.flatMap((t) => [...t.expr.matchAll(/\bclawrelay_\w+/g)].map((m) => m[0])));
    const wanted = [
      "clawrelay_messages_in_total",
      "clawrelay_messages_out_total",
      "clawrelay_receipts_total",
      "clawrelay_queue_items",
      "clawrelay_queue_oldest_age_seconds",
      "clawrelay_agents_connected",
      "clawrelay_delivery_breaker_state",
      "clawrelay_connector_hook_breaker_open",
      "clawrelay_ack_latency_seconds_bucket",
      "clawrelay_processed_latency_seconds_bucket",
      "clawrelay_agent_failures_total",
      "clawrelay_connector_token_expires_in_seconds",
      "clawrelay_metrics_shard_up",
      ...CONNECTOR_METRICS.map((name) => (isHistogram(name) ? `${name}_bucket` : name)),
    ];
    expect(wanted.filter((name) => !read.has(name))).toEqual([]);
  });

  it("finds the relay's metric names in its source (the check above is not vacuous)", () => {
    expect(relayMetricNames()).toContain("clawrelay_queue_items");
    expect(relayMetricNames().size).toBeGreaterThan(20);
  });
});
