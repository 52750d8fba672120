import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectorProcess, waitUntil } from "../../../scripts/lib/connector.mjs";
import { StandInHook } from "../../../scripts/lib/hook.mjs";
import { LocalRelay, ROOT } from "../../../scripts/lib/relay.mjs";

// The operator dashboard in Debian's headless Chromium (never a downloaded browser), driven by
// playwright-core against a real `wrangler dev` carrying real traffic: overview, agent page,
// search, trace, light and dark, and a 390 px phone. Screenshots stay in test-artifacts/dashboard/.
const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "test-artifacts", "dashboard");
const PHONE = { width: 390, height: 844 };

let relay: LocalRelay;
let browser: Browser;
const cleanup: (() => Promise<unknown>)[] = [];
const scratch = mkdtempSync(join(tmpdir(), "clawrelay-dashboard-"));
let doomed: { messageId: string; correlationId: string };

interface Overview {
  agents: { agentId: string }[];
  status: {
    recentFailures: { correlationId: string; messageId: string }[];
    attention: { agentId: string; reason: string }[];
  };
}

async function overview(): Promise<Overview> {
  const res = await fetch(`${relay.url}/dashboard/api/overview`, {
    headers: { authorization: `Bearer ${relay.vars.ADMIN_TOKEN}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Overview;
}

/** A signed-in page; every page error or console error is collected into `problems`. */
async function signedIn(context: BrowserContext, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console: ${msg.text()}`);
  });
  await page.goto(`${relay.url}/dashboard`);
  await page.fill("#token", relay.vars.ADMIN_TOKEN);
  await page.click("form.login button[type=submit]");
  await page.waitForSelector("#agents-table tr[data-agent=bob]");
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Nothing wider than the viewport: tables scroll inside their own box, the page never sideways. */
const pageOverflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

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
  expect((await relay.admin("PUT", "/v1/admin/agents/carol")).status).toBe(200);
  const alice = connectors.alice!;
  for (let n = 0; n < 3; n++) expect((await alice.send("bob", { n })).status).toBe(202);
  const sent = await alice.send("carol", { n: 99 }, { ttlSeconds: 1 });
  expect(sent.status).toBe(202);
  const correlationId = sent.json.correlationId;
  // And one that waits for carol: she is offline with an item queued, which needs attention.
  expect((await alice.send("carol", { n: 100 })).status).toBe(202);
  await hook.waitFor((h) => h.messages().length >= 3, 30_000, "bob's three messages");
  // Sessions report to the metrics shards at most every 10 s.
  await waitUntil(
    async () => {
      const view = await overview();
      const failure = view.status.recentFailures.find((f) => f.correlationId === correlationId);
      if (failure) doomed = { messageId: failure.messageId, correlationId };
      const waiting = view.status.attention.some((a) => a.agentId === "carol" && a.reason === "offline_with_queue");
      return view.agents.some((a) => a.agentId === "bob") && failure !== undefined && waiting;
    },
    45_000,
    "bob, carol's expired message and carol's waiting one in the overview",
    500,
  );
});

afterAll(async () => {
  await browser?.close();
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await relay?.stop();
});

describe("operator dashboard in headless Chromium", () => {
  it("refuses a wrong token, then signs in with an HttpOnly cookie and never shows the token", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(msg.text());
    });
    await page.goto(`${relay.url}/dashboard`);
    await page.fill("#token", "not-the-token");
    await page.click("button[type=submit]");
    await page.waitForSelector("p.error[role=alert]");
    // The refused login answers 401, which Chromium reports on the console: expected, once.
    expect(problems).toHaveLength(1);
    await page.fill("#token", relay.vars.ADMIN_TOKEN);
    await page.click("button[type=submit]");
    await page.waitForSelector("#agents-table tr[data-agent=bob]");
    expect(page.url()).toBe(`${relay.url}/dashboard`);
    const session = (await context.cookies()).find((c) => c.name === "clawrelay_dashboard");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict" });
    expect(await page.evaluate(() => document.cookie)).toBe("");
    expect(await page.content()).not.toContain(relay.vars.ADMIN_TOKEN);
    await page.click("form[action='/dashboard/logout'] button");
    await page.waitForSelector("#token");
    expect((await context.cookies()).some((c) => c.name === "clawrelay_dashboard")).toBe(false);
    await context.close();
  });

  for (const colorScheme of ["light", "dark"] as const) {
    it(`overview (${colorScheme}): agents, failures, charts with axes, ranges and a tooltip`, async () => {
      const context = await browser.newContext({ colorScheme, viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      const page = await signedIn(context, problems);
      const bobRow = await page.locator("#agents-table tr[data-agent=bob] td").allTextContents();
      expect(bobRow[1]).toBe("connected");
      expect(await page.locator("#failures-table a.trace-link", { hasText: doomed.correlationId }).count()).toBe(1);
      const carolWaits = page.locator("#attention-table tr[data-agent=carol][data-reason=offline_with_queue] td");
      expect((await carolWaits.allTextContents())[3]).toMatch(/^1 queued, oldest /);
      for (const title of ["Throughput per hour", "Ack latency per hour"]) {
        const chart = page.locator(`figure[data-chart='${title}']`);
        expect(await chart.locator("canvas").count()).toBe(1);
        // uPlot draws its axes' labels on the canvas; the legend names each series in text.
        expect(await chart.locator(".legend .key").count()).toBe(3);
      }
      // A redraw (a new range, or the 10 s refresh) gives the chart new data, not a new canvas.
      const canvas = await page.$("figure[data-chart='Throughput per hour'] canvas");
      for (const range of ["1h", "48h", "6h"]) {
        await page.click(`.range button[data-range='${range}']`);
        expect(await page.getAttribute(`.range button[data-range='${range}']`, "aria-pressed")).toBe("true");
        expect(await page.locator("figure[data-chart='Throughput per hour'] canvas").count()).toBe(1);
      }
      expect(await canvas!.evaluate((node) => node.isConnected)).toBe(true);
      await page.click(".range button[data-range='1h']");
      // The current hour's point is at the 1 h chart's right part; hover there for the tooltip.
      const over = page.locator("figure[data-chart='Throughput per hour'] .u-over");
      const box = (await over.boundingBox())!;
      await page.mouse.move(box.x + box.width - 4, box.y + box.height / 2);
      const tip = page.locator("figure[data-chart='Throughput per hour'] .chart-tip");
      await tip.waitFor({ state: "visible" });
      expect(await tip.textContent()).toMatch(/in \d+/);
      await shot(page, `overview-${colorScheme}`);
      expect(problems).toEqual([]);
      await context.close();
    });
  }

  it("1 h and 6 h ranges draw 5-minute buckets (12 and 72 points), 48 h draws hours (48)", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const page = await signedIn(context, problems);
    for (const [range, points, bucketMs, caption] of [
      ["1h", "12", "300000", "Throughput per 5 minutes"],
      ["6h", "72", "300000", "Throughput per 5 minutes"],
      ["48h", "48", "3600000", "Throughput per hour"],
    ] as const) {
      await page.click(`.range button[data-range='${range}']`);
      const chart = page.locator(`figure[data-chart='Throughput per hour'][data-bucket-ms='${bucketMs}']`);
      await chart.waitFor();
      expect(await chart.getAttribute("data-points")).toBe(points);
      expect(await chart.locator("figcaption").textContent()).toBe(caption);
    }
    expect(problems).toEqual([]);
    await context.close();
  });

  it("agent page: connections and roles, connector health, queue by lane, recent failures", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const page = await signedIn(context, problems);
    await page.click("#agents-table tr[data-agent=bob] a.agent-link");
    await page.waitForSelector("#connections-table tr[data-role=active]");
    expect(page.url()).toBe(`${relay.url}/dashboard/agent?id=bob`);
    expect(await page.textContent("#agent-name")).toBe("bob");
    expect(await page.locator("#lanes-table tr[data-lane]").count()).toBe(3);
    expect(await page.locator("figure[data-chart='Queue by lane'] canvas").count()).toBe(1);
    // Bob's own traffic, from his metrics shard, in the same buckets as the overview's.
    expect(await page.locator("#charts figure[data-chart='Throughput per hour'][data-bucket-ms] canvas").count()).toBe(
      1,
    );
    expect(await page.textContent("#agent-facts")).toContain("connected");
    await shot(page, "agent-bob");

    await page.goto(`${relay.url}/dashboard/agent?id=carol`);
    await page.waitForSelector("#agent-failures-table tr[data-message]");
    expect(await page.textContent("#agent-failures-table")).toContain(doomed.correlationId);
    expect(await page.textContent("#connections")).toContain("No connector");
    expect(await page.locator("#attention-table tr[data-reason=offline_with_queue]").count()).toBe(1);
    expect((await page.locator("#lanes-table tr[data-lane=normal] td").allTextContents())[1]).toBe("1");
    await shot(page, "agent-carol");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("search by correlation id and by message id leads to the message's trace", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const page = await signedIn(context, problems);
    await page.fill("#search-q", doomed.correlationId);
    await page.click("form.search button[type=submit]");
    await page.waitForSelector("#search-table tr[data-agent=carol]");
    expect(page.url()).toContain("/dashboard/search?q=");
    await shot(page, "search");
    await page.click(`#search-table a.trace-link`);
    await page.waitForSelector("#trace-table tr[data-hop=expired]");
    const hops = await page
      .locator("#trace-table tr[data-hop]")
      .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-hop")));
    expect(hops[0]).toBe("received");
    expect(await page.textContent("#trace-facts")).toContain(doomed.correlationId);
    await shot(page, "trace");

    // A message id found in its recipient's records, with nothing named but the id.
    await page.goto(`${relay.url}/dashboard/search?q=${doomed.messageId}`);
    await page.waitForSelector(`#search-table tr[data-message='${doomed.messageId}']`);
    await page.goto(`${relay.url}/dashboard/search?q=no-such-message-id`);
    await page.waitForSelector("#results p.empty");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("at 390 px wide every view fits the screen (tables scroll inside their box)", async () => {
    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    const problems: string[] = [];
    const page = await signedIn(context, problems);
    await page.waitForSelector("figure[data-chart='Throughput per hour'] canvas");
    expect(await pageOverflow(page)).toBeLessThanOrEqual(0);
    const canvas = (await page.locator("figure[data-chart='Throughput per hour'] canvas").boundingBox())!;
    expect(canvas.width).toBeLessThanOrEqual(PHONE.width);
    await shot(page, "phone-overview");
    await page.goto(`${relay.url}/dashboard/agent?id=bob`);
    await page.waitForSelector("#connections-table tr[data-role=active]");
    expect(await pageOverflow(page)).toBeLessThanOrEqual(0);
    await shot(page, "phone-agent");
    await page.goto(`${relay.url}/dashboard/search?q=${doomed.correlationId}`);
    await page.waitForSelector("#search-table tr[data-agent=carol]");
    expect(await pageOverflow(page)).toBeLessThanOrEqual(0);
    await shot(page, "phone-search");
    expect(problems).toEqual([]);
    await context.close();
  });
});
