import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, type TestContext } from "vitest";
import { tempDir } from "../daemon/helpers/common.js";
import { dashboardTargets } from "./dashboard.js";
import {
  alertRules,
  knownSeriesNames,
  OPS,
  promtool,
  promtoolInstalled,
  unknownSeries,
  withAlertSilenced,
} from "./ops-files.js";

// ops/prometheus: the alert rules parse, their unit tests pass, and each alert's tests would
// notice the alert being broken. promtool is required in CI (bootstrap installs Debian's
// `prometheus`); elsewhere a machine without it skips these, saying so.
const installed = promtoolInstalled();
const alertsText = readFileSync(OPS.alerts, "utf8");
const testsText = readFileSync(OPS.alertTests, "utf8");
const alertNames = [...new Set(alertRules(alertsText).map((rule) => rule.alert))];
const work = tempDir("clawrelay-ops-rules-");
afterAll(() => work.remove());

function needPromtool(context: TestContext): void {
  if (installed) return;
  if (process.env.CI) throw new Error("promtool is not installed; CI needs it (apt-get install -y prometheus)");
  context.skip("promtool is not installed (apt-get install -y prometheus)");
}

describe("ops/prometheus alert rules", { timeout: 120_000 }, () => {
  it("has alerts to check", () => {
    expect(alertNames.length).toBeGreaterThanOrEqual(10);
  });

  it("passes promtool check rules", (context) => {
    needPromtool(context);
    const run = promtool(["check", "rules", OPS.alerts]);
    expect(run.output).toContain("SUCCESS");
    expect(run.code).toBe(0);
  });

  it("passes promtool test rules", (context) => {
    needPromtool(context);
    const run = promtool(["test", "rules", OPS.alertTests]);
    expect(run.output).toContain("SUCCESS");
    expect(run.code).toBe(0);
  });

  it("has, for every alert, a case where it fires and one where it does not", () => {
    const cases = [...testsText.matchAll(/alertname:\s*(\S+)\s*\n\s*exp_alerts:\s*(\[\])?/g)];
    for (const name of alertNames) {
      const mine = cases.filter((c) => c[1] === name);
      expect({ name, fires: mine.some((c) => c[2] === undefined) }).toEqual({ name, fires: true });
      expect({ name, quiet: mine.some((c) => c[2] === "[]") }).toEqual({ name, quiet: true });
    }
  });

  it("fails its unit tests when any one alert stops firing", (context) => {
    needPromtool(context);
    copyFileSync(OPS.alertTests, join(work.path, "alerts.test.yml"));
    for (const name of alertNames) {
      writeFileSync(join(work.path, "alerts.yml"), withAlertSilenced(alertsText, name));
      const run = promtool(["test", "rules", join(work.path, "alerts.test.yml")]);
      expect({ name, code: run.code }).toEqual({ name, code: 1 });
      expect(run.output).toContain(`alertname: ${name}`);
    }
  });

  it("reads only series the relay or the connector exposes", () => {
    const known = knownSeriesNames();
    const unknown = alertRules(alertsText).flatMap((rule) => unknownSeries(rule.expr, known));
    expect(unknown).toEqual([]);
  });
});

describe("ops/prometheus/scrape.example.yml", () => {
  it("passes promtool check config, with its token files and rules in place", (context) => {
    needPromtool(context);
    const tokenFile = join(work.path, "token");
    writeFileSync(tokenFile, "example-token\n");
    const example = readFileSync(OPS.scrapeExample, "utf8");
    const rewritten = example.replaceAll(/credentials_file: \S+/g, `credentials_file: ${tokenFile}`);
    expect(rewritten).not.toBe(example);
    writeFileSync(join(work.path, "prometheus.yml"), rewritten);
    copyFileSync(OPS.alerts, join(work.path, "alerts.yml"));
    const run = promtool(["check", "config", join(work.path, "prometheus.yml")]);
    expect(run.output).toContain("SUCCESS");
    expect(run.code).toBe(0);
  });
});

describe("ops/grafana dashboard queries", { timeout: 60_000 }, () => {
  it("are valid PromQL (checked by promtool as recording rules)", (context) => {
    needPromtool(context);
    const targets = dashboardTargets();
    expect(targets.length).toBeGreaterThan(0);
    // Grafana's variables replaced by what they stand for, so promtool can parse the rest.
    const rules = targets.map((t, i) => {
      const expr = t.expr.replaceAll("$__rate_interval", "5m").replaceAll("$agent", ".*");
      return `      - record: ops_dashboard_query_${i}\n        expr: ${JSON.stringify(expr)}`;
    });
    const file = join(work.path, "dashboard-queries.yml");
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
    const run = promtool(["check", "rules", file]);
    expect(run.output).toContain(`SUCCESS: ${targets.length} rules found`);
    expect(run.code).toBe(0);
  });
});
