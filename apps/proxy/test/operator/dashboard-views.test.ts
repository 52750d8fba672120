import { env, exports } from "cloudflare:workers";
import { metricsShardOf, type SessionSummary } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { CHART_STYLE, DASHBOARD_SCRIPT } from "../../src/dashboard/client-script.js";
import { SEARCH_AGENTS } from "../../src/dashboard/search.js";
import { DASHBOARD_COOKIE, issueSessionValue } from "../../src/dashboard/session-cookie.js";
import { ADMIN_TOKEN, adminCall, errorCode, ORIGIN } from "../support/agents.js";
import { knownAgent, sendOk, uniqueId } from "../support/session.js";

// The dashboard's pages and the data routes its agent page and search read (routes.ts).
const call = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(`${ORIGIN}${path}`, init));

async function cookie(): Promise<RequestInit> {
  const value = await issueSessionValue(ADMIN_TOKEN, Date.now());
  return { headers: { cookie: `${DASHBOARD_COOKIE}=${value}` }, redirect: "manual" };
}

function reportTo(summary: SessionSummary): Promise<void> {
  const shard = env.METRICS_SHARD.get(env.METRICS_SHARD.idFromName(`shard-${metricsShardOf(summary.agentId)}`));
  return shard.report(summary);
}

const lane = { items: 0, bytes: 0, oldestQueuedAt: null };
function summary(agentId: string, failures: SessionSummary["recentFailures"]): SessionSummary {
  return {
    agentId,
    at: Date.now(),
    known: true,
    connections: [],
    queue: {
      items: 0,
      bytes: 0,
      inFlight: 0,
      oldestQueuedAt: null,
      lanes: { critical: lane, normal: lane, low: lane },
      receipts: { items: 0, bytes: 0 },
    },
    breaker: { state: "closed", consecutiveFailures: 0, openedAt: null },
    receiptBreakers: [],
    hours: [],
    recentFailures: failures,
  };
}

interface Match {
  agentId: string;
  messageId: string;
  correlationId: string;
  source: string;
}
interface SearchAnswer {
  matches: Match[];
  agent: string | null;
  searched: { agents: number; of: number };
}

async function search(params: Record<string, string>): Promise<SearchAnswer> {
  const res = await adminCall("GET", `/dashboard/api/search?${new URLSearchParams(params)}`);
  expect(res.status).toBe(200);
  return (await res.json()) as SearchAnswer;
}

describe("dashboard pages", () => {
  for (const page of ["agent", "search", "trace"]) {
    it(`/dashboard/${page}: sign-in first, then a shell naming its page with the strict CSP`, async () => {
      const anonymous = await call(`/dashboard/${page}`, { redirect: "manual" });
      expect(anonymous.status).toBe(303);
      expect(anonymous.headers.get("location")).toBe("/dashboard");
      const res = await call(`/dashboard/${page}?id=bob`, await cookie());
      expect(res.status).toBe(200);
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      const html = await res.text();
      expect(html).toContain(`data-page="${page}"`);
      expect(html).toContain('action="/dashboard/search"');
      // The shell carries no data: the query string is never echoed into markup.
      expect(html).not.toContain("bob");
    });
  }

  it("serves the bundled client and the chart library's stylesheet with the palette", async () => {
    const script = await call("/dashboard/assets/app.js");
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toBe(DASHBOARD_SCRIPT);
    const style = await (await call("/dashboard/assets/app.css")).text();
    expect(style.startsWith(CHART_STYLE)).toBe(true);
    expect(style).toContain("prefers-color-scheme: dark");
  });
});

describe("GET /dashboard/api/agents/:agent", () => {
  it("refuses without a session and for a malformed id", async () => {
    const none = await call("/dashboard/api/agents/bob");
    expect(none.status).toBe(401);
    expect(await errorCode(none)).toBe("missing_credentials");
    const bad = await adminCall("GET", "/dashboard/api/agents/NOT_AN_AGENT");
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("invalid_request");
  });

  it("answers the session's live queue by lane and the agent's own recent failures", async () => {
    const alice = await knownAgent("dash-alice");
    const bob = await knownAgent("dash-bob");
    await sendOk(alice, bob, { payload: { n: 1 }, priority: "critical" });
    await reportTo(
      summary(bob.id, [
        {
          messageId: "01JAAAAAAAAAAAAAAAAAAAAAAB",
          correlationId: "corr-dash-1",
          from: alice.id,
          status: "expired",
          at: Date.now(),
          reason: null,
        },
      ]),
    );
    const res = await adminCall("GET", `/dashboard/api/agents/${bob.id}`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as {
      agentId: string;
      status: { queue: { items: number; lanes: Record<string, { items: number }> }; connections: unknown[] };
      failures: { agentId: string; correlationId: string }[];
      attention: unknown[];
      rates: { hourly: { hour: number }[]; fiveMinute: { start: number }[] } | null;
    };
    expect(view.agentId).toBe(bob.id);
    expect(view.status.queue.lanes.critical?.items).toBe(1);
    expect(view.status.connections).toEqual([]);
    expect(view.failures.map((f) => [f.agentId, f.correlationId])).toEqual([[bob.id, "corr-dash-1"]]);
    expect(Array.isArray(view.attention)).toBe(true);
    // Bob's own series from his shard: 48 hours and the last 6 h in 72 buckets of 5 minutes.
    expect(view.rates?.hourly).toHaveLength(48);
    expect(view.rates?.fiveMinute).toHaveLength(72);
  });
});

describe("GET /dashboard/api/agents/:agent attention", () => {
  it("carries the agent's own entries of the needs-attention view, read from its metrics shard", async () => {
    const dave = uniqueId("dash-dave");
    const other = uniqueId("dash-erin");
    for (const agentId of [dave, other]) {
      const waiting = summary(agentId, []);
      waiting.queue = { ...waiting.queue, items: 2, oldestQueuedAt: Date.now() - 60_000 };
      waiting.queue.lanes = {
        ...waiting.queue.lanes,
        normal: { items: 2, bytes: 20, oldestQueuedAt: Date.now() - 60_000 },
      };
      await reportTo(waiting);
    }
    const res = await adminCall("GET", `/dashboard/api/agents/${dave}`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as { attention: { agentId: string; reason: string }[] };
    expect(view.attention.map((a) => [a.agentId, a.reason])).toContainEqual([dave, "offline_with_queue"]);
    expect(view.attention.every((a) => a.agentId === dave)).toBe(true);
  });
});

describe("GET /dashboard/api/search", () => {
  it("finds a message id in the named recipient's records, and in any reporting agent's", async () => {
    const alice = await knownAgent("find-alice");
    const bob = await knownAgent("find-bob");
    const sent = await sendOk(alice, bob, { payload: { n: 1 } });
    const named = await search({ q: sent.messageId, agent: bob.id });
    expect(named.matches).toEqual([
      expect.objectContaining({ agentId: bob.id, messageId: sent.messageId, source: "record" }),
    ]);
    expect(named.matches[0]?.correlationId).toBe(sent.correlationId);
    expect(named.searched).toEqual({ agents: 1, of: 1 });

    await reportTo(summary(bob.id, []));
    const anywhere = await search({ q: sent.messageId });
    expect(anywhere.matches.map((m) => [m.agentId, m.source])).toEqual([[bob.id, "record"]]);
    expect(anywhere.searched.agents).toBeLessThanOrEqual(SEARCH_AGENTS);
    expect(anywhere.searched.agents).toBeGreaterThanOrEqual(1);
  });

  it("finds a correlation id among the recent failures, and nothing for an unknown id", async () => {
    const carol = uniqueId("find-carol");
    await reportTo(
      summary(carol, [
        {
          messageId: "01JAAAAAAAAAAAAAAAAAAAAAAC",
          correlationId: "corr-find-9",
          from: "alice",
          status: "dead_lettered",
          at: Date.now(),
          reason: "hook_4xx",
        },
      ]),
    );
    const found = await search({ q: "corr-find-9" });
    expect(found.matches).toEqual([
      expect.objectContaining({ agentId: carol, messageId: "01JAAAAAAAAAAAAAAAAAAAAAAC", source: "recent_failure" }),
    ]);
    expect((await search({ q: "corr-find-none" })).matches).toEqual([]);
  });

  it("refuses a query that is no id, and a malformed recipient", async () => {
    const refused: Record<string, string>[] = [{ q: "" }, { q: "<script>" }, { q: "corr-find-9", agent: "NOPE!" }];
    for (const params of refused) {
      const res = await adminCall("GET", `/dashboard/api/search?${new URLSearchParams(params)}`);
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe("invalid_request");
    }
    const none = await call("/dashboard/api/search?q=corr-find-9");
    expect(none.status).toBe(401);
  });
});
