import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The checked-in operator files (ops/) and the sources whose metric names they must use. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
export const OPS = {
  alerts: join(REPO_ROOT, "ops/prometheus/alerts.yml"),
  alertTests: join(REPO_ROOT, "ops/prometheus/alerts.test.yml"),
  scrapeExample: join(REPO_ROOT, "ops/prometheus/scrape.example.yml"),
  dashboard: join(REPO_ROOT, "ops/grafana/clawrelay.json"),
};
const RELAY_METRICS_DIR = join(REPO_ROOT, "apps/proxy/src/metrics");

/** The connector's loopback `/metrics` families (issue 17), as the dashboard and the rules use them. */
export const CONNECTOR_METRICS = [
  "clawrelay_connector_hook_calls_total",
  "clawrelay_connector_hook_latency_seconds",
  "clawrelay_connector_inbox_items",
  "clawrelay_connector_inbox_oldest_age_seconds",
  "clawrelay_connector_outbox_items",
  "clawrelay_connector_dead_letters",
  "clawrelay_connector_link_connected",
  "clawrelay_connector_reconnects_total",
  "clawrelay_connector_breaker_open",
] as const;

/** Histogram families: only these may be read through `_bucket`, `_sum` and `_count`. */
export const HISTOGRAM_METRICS = [
  "clawrelay_ack_latency_seconds",
  "clawrelay_processed_latency_seconds",
  "clawrelay_connector_hook_latency_seconds",
] as const;

/** Families the relay exposes: every `"clawrelay_…"` literal of its exposition modules, read now. */
export function relayMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const file of readdirSync(RELAY_METRICS_DIR).filter((f) => /^prometheus.*\.ts$/.test(f))) {
    const source = readFileSync(join(RELAY_METRICS_DIR, file), "utf8");
    for (const match of source.matchAll(/"(clawrelay_[a-z0-9_]+)"/g)) if (match[1]) names.add(match[1]);
  }
  return names;
}

/** Series names a query may read: every family, and the histograms' sample series. */
export function knownSeriesNames(): Set<string> {
  const families = new Set<string>([...relayMetricNames(), ...CONNECTOR_METRICS]);
  const series = new Set(families);
  for (const histogram of HISTOGRAM_METRICS) {
    if (!families.has(histogram)) continue;
    for (const suffix of ["_bucket", "_sum", "_count"]) series.add(`${histogram}${suffix}`);
  }
  return series;
}

/** The clawrelay series names a PromQL expression reads that no exposition has. */
export function unknownSeries(expr: string, known: ReadonlySet<string>): string[] {
  return [...expr.matchAll(/\bclawrelay_[a-zA-Z0-9_]+/g)].map((m) => m[0]).filter((name) => !known.has(name));
}

export interface AlertRule {
  alert: string;
  expr: string;
  /** Lines of the file the `expr` key and its block occupy, [start, end). */
  lines: [number, number];
}

/**
 * The alerting rules of a rules file, read by indentation: enough for ops/prometheus/alerts.yml,
 * where each rule starts with `- alert:` and its `expr` is inline or a block scalar.
 */
export function alertRules(text: string): AlertRule[] {
  const lines = text.split("\n");
  const rules: AlertRule[] = [];
  let alert: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const named = /^\s*- alert:\s*(\S+)/.exec(line);
    if (named) alert = named[1];
    const keyed = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!keyed || alert === undefined) continue;
    const indent = keyed[1]?.length ?? 0;
    const inline = keyed[2] ?? "";
    let end = i + 1;
    const body: string[] = [];
    if (/^[|>][-+]?$/.test(inline)) {
      while (end < lines.length && (/^\s*$/.test(lines[end] ?? "") || leading(lines[end] ?? "") > indent)) {
        body.push((lines[end] ?? "").trim());
        end++;
      }
    } else body.push(inline);
    rules.push({ alert, expr: body.join("\n").trim(), lines: [i, end] });
  }
  return rules;
}

const leading = (line: string): number => line.length - line.trimStart().length;

/** The rules file with every rule of `alert` made never to fire, for proving its unit tests can fail. */
export function withAlertSilenced(text: string, alert: string): string {
  const lines = text.split("\n");
  const targets = alertRules(text).filter((rule) => rule.alert === alert);
  for (const rule of [...targets].reverse()) {
    const [start, end] = rule.lines;
    const indent = " ".repeat(leading(lines[start] ?? ""));
    lines.splice(start, end - start, `${indent}expr: vector(0) == 1`);
  }
  return lines.join("\n");
}

/** Whether promtool (Debian package `prometheus`) is on PATH. */
export function promtoolInstalled(): boolean {
  return spawnSync("promtool", ["--version"], { stdio: "ignore" }).error === undefined;
}

export function promtool(args: readonly string[]): { code: number | null; output: string } {
  const run = spawnSync("promtool", args, { encoding: "utf8", timeout: 60_000 });
  return { code: run.status, output: `${run.stdout ?? ""}${run.stderr ?? ""}` };
}
