import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectorProcess, waitUntil } from "../../../scripts/lib/connector.mjs";
import { StandInHook } from "../../../scripts/lib/hook.mjs";
import { LocalRelay, ROOT } from "../../../scripts/lib/relay.mjs";

// The operator dashboard in Debian's headless Chromium (never a downloaded browser), driven by
// playwright-core against a real `wrangler dev` carrying real traffic. Screenshots are kept as
// artifacts in test-artifacts/.
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts");

let relay: LocalRelay;
let browser: Browser;
const cleanup: (() => Promise<unknown>)[] = [];
const scratch = mkdtempSync(join(tmpdir(), "clawrelay-dashboard-"));

interface Overview {
  agents: { agentId: string }[];
  status: { recentFailures: { agentId: string; messageId: string; correlationId: string; status: string }[] };
}

async function overview(): Promise<Overview> {
  const res = await fetch(`${relay.url}/dashboard/api/overview`, {
    headers: { authorization: `Bearer ${relay.vars.ADMIN_TOKEN}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Overview;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/bootstrap.mjs does as root)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  relay = await LocalRelay.start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags Chromium keeps dialling Google on a closed network.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await relay?.stop();
});

describe("operator dashboard in headless Chromium", () => {
  it("logs in, shows the agents and the charts, and follows a failure to its trace", async () => {
    // Traffic: alice → bob delivered through real connectors; alice → carol (registered, never
    // connected) with a 1 s TTL, which expires and becomes a failure with a correlation id.
    const hook = await new StandInHook().start();
    cleanup.push(() => hook.close());
    const connectors: Record<string, ConnectorProcess> = {};
    for (const id of ["alice", "bob"]) {
      const connector = new ConnectorProcess({
        agentId: id,
        identityDir: relay.agent(id),
        relayUrls: [relay.url],
        hookUrl: hook.url,
        dataDir: join(scratch, id),
      });
      await connector.start();
      cleanup.push(() => connector.kill());
      connectors[id] = connector;
    }
    const register = await relay.admin("PUT", "/v1/admin/agents/carol");
    expect(register.status).toBe(200);
    const alice = connectors.alice!;
    for (let n = 0; n < 3; n++) expect((await alice.send("bob", { n })).status).toBe(202);
    const doomed = await alice.send("carol", { n: 99 }, { ttlSeconds: 1 });
    expect(doomed.status).toBe(202);
    await hook.waitFor((h) => h.messages().length >= 3, 30_000, "bob's three messages");
    // Sessions report to the metrics shards at most every 10 s.
    await waitUntil(
      async () => {
        const view = await overview();
        return (
          view.agents.some((a) => a.agentId === "bob") &&
          view.status.recentFailures.some((f) => f.correlationId === doomed.json.correlationId)
        );
      },
      45_000,
      "bob and carol's expired message in the overview",
      500,
    );

    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
    });

    await page.goto(`${relay.url}/dashboard`);
    await page.fill("#token", "not-the-token");
    await page.click("button[type=submit]");
    await page.waitForSelector("p.error[role=alert]");
    // The refused login answers 401, which Chromium reports on the console: expected, once.
    expect(problems).toEqual([
      "console: Failed to load resource: the server responded with a status of 401 (Unauthorized)",
    ]);
    problems.length = 0;
    await page.fill("#token", relay.vars.ADMIN_TOKEN);
    await page.click("button[type=submit]");
    await page.waitForSelector("#agents-table tr[data-agent=bob]");
    expect(page.url()).toBe(`${relay.url}/dashboard`);
    expect(page.url()).not.toContain(relay.vars.ADMIN_TOKEN);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === "clawrelay_dashboard");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
    expect(await page.evaluate(() => document.cookie)).toBe("");

    const bobRow = await page.locator("#agents-table tr[data-agent=bob] td").allTextContents();
    expect(bobRow[1]).toBe("connected");
    expect(await page.locator("figure[data-chart='Throughput per hour'] polyline").count()).toBeGreaterThan(0);
    expect(await page.locator("figure[data-chart='Ack latency per hour'] polyline").count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });

    const link = page.locator(`#failures-table a.trace-link`, { hasText: doomed.json.correlationId });
    await link.click();
    await page.waitForSelector("#trace-table tr[data-hop=expired]");
    expect(page.url()).toContain("/dashboard/trace?agent=carol&message=");
    const hops = await page
      .locator("#trace-table tr[data-hop]")
      .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-hop")));
    expect(hops[0]).toBe("received");
    expect(hops).toContain("expired");
    expect(await page.locator("#facts").textContent()).toContain(doomed.json.correlationId);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-trace.png"), fullPage: true });

    // Signing out drops the session: the data API refuses the old page.
    await page.click("form[action='/dashboard/logout'] button");
    await page.waitForSelector("#token");
    expect((await context.cookies()).some((c) => c.name === "clawrelay_dashboard")).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  });
});
