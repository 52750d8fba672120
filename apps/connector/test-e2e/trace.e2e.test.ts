import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ConnectorProcess, waitUntil } from "../../../scripts/lib/connector.mjs";
import { CLI, LocalRelay } from "../../../scripts/lib/relay.mjs";
import { agentWithConnector as startAgent } from "./support/agents.js";

// Real `wrangler dev`, real connector daemons and the real `clawrelay trace` process: messages
// meet four fates (delivered, expired, shed, dead-lettered) and trace must name the last hop of each.
const run = promisify(execFile);

interface TraceJson {
  messageId: string | null;
  outboundId: string | null;
  correlationId: string | null;
  from: string | null;
  to: string | null;
  outcome: string;
  stuck: boolean;
  stuckAt: string | null;
  diagnosis: string;
  lastHop: string | null;
  timeline: { name: string; step: string | null; at: number; gapMs: number | null }[];
  sources: { connectors: { url: string; status: string }[]; relay: { status: string; as: string | null } };
}

let relay: LocalRelay;
const cleanup: (() => Promise<unknown>)[] = [];
const scratch = mkdtempSync(join(tmpdir(), "clawrelay-trace-e2e-"));

function agentWithConnector(id: string, extra: Record<string, unknown> = {}) {
  return startAgent(relay, cleanup, { id, dataDir: join(scratch, id), extra });
}

async function relayRecord(to: string, messageId: string) {
  const res = await relay.admin("GET", `/v1/agents/${to}/messages/${messageId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { state: string; terminal: string | null };
}

async function connectionsOf(agentId: string): Promise<number> {
  const res = await relay.admin("GET", `/v1/agents/${agentId}/status`);
  return ((await res.json()) as { connections: unknown[] }).connections.length;
}

/** An agent the relay knows (its connector connected once) and that is now offline. */
async function offlineAgent(id: string) {
  const agent = await agentWithConnector(id);
  await waitUntil(async () => (await connectionsOf(id)) === 1, 20_000, `${id} connected`);
  await agent.connector.stop();
  await waitUntil(async () => (await connectionsOf(id)) === 0, 20_000, `${id} disconnected`);
  return agent;
}

/** The relay's message id, once alice's outbox has it accepted. */
async function accepted(sender: ConnectorProcess, outboundId: string): Promise<string> {
  let messageId: string | null = null;
  await waitUntil(
    async () => {
      const { json } = await sender.api<{ state: string; messageId: string | null }>(
        "GET",
        `/v1/outbound/${outboundId}`,
      );
      messageId = json.state === "sent" ? json.messageId : null;
      return messageId !== null;
    },
    30_000,
    `relay accepted ${outboundId}`,
  );
  return messageId as unknown as string;
}

async function traceCli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, "--home", relay.home, "trace", ...args], {
      env: { ...process.env, CLAWRELAY_ADMIN_TOKEN: "", ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

async function traceJson(id: string, connectors: ConnectorProcess[], args: string[] = [], env = {}) {
  // Each connector by its config file: trace reads its address and API token from there.
  const result = await traceCli(
    [id, "--json", ...connectors.flatMap((c) => ["--connector", c.configPath]), ...args],
    env,
  );
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as TraceJson;
}

let alice: Awaited<ReturnType<typeof agentWithConnector>>;
let bob: Awaited<ReturnType<typeof agentWithConnector>>;

beforeAll(async () => {
  // A queue of 4 that one sender may fill alone, so a handful of messages reaches the shedding rule.
  relay = await LocalRelay.start({ extraVars: { RELAY_QUEUE_MAX_ITEMS: "4", RELAY_SENDER_SHARE: "1" } });
  alice = await agentWithConnector("alice-trace");
  // Quick hook retries: a failing hook opens bob's hook breaker within a second.
  bob = await agentWithConnector("bob-trace", {
    hookMaxAttempts: 2,
    hookBackoffBaseMs: 50,
    hookBackoffMaxMs: 100,
    hookBreakerOpenMs: 1_000,
  });
  await waitUntil(async () => (await connectionsOf("bob-trace")) === 1, 20_000, "bob connected");
});

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await relay?.stop();
});

describe("clawrelay trace, end to end", () => {
  it("delivered: by correlation id, T1…T6 in order, last hop = handed to bob's agent", async () => {
    const sent = await alice.connector.send("bob-trace", { n: 1 }, { correlationId: "corr-trace-delivered-01" });
    expect(sent.status).toBe(202);
    const messageId = await accepted(alice.connector, sent.json.outboundId);
    await bob.hook.waitFor((h) => h.messages().length >= 1, 30_000, "bob's message");
    await waitUntil(
      async () => (await relayRecord("bob-trace", messageId)).terminal === "processed",
      30_000,
      "processed",
    );

    const report = await traceJson(
      "corr-trace-delivered-01",
      [alice.connector, bob.connector],
      ["--agent", "alice-trace"],
    );
    expect(report).toMatchObject({
      messageId,
      outboundId: sent.json.outboundId,
      correlationId: "corr-trace-delivered-01",
      from: "alice-trace",
      to: "bob-trace",
      outcome: "delivered",
      stuck: false,
      lastHop: "recipient.hook_delivered",
    });
    expect(report.diagnosis).toMatch(/^delivered to the agent at \d{4}-\d\d-\d\dT/);
    expect(report.sources.relay).toMatchObject({ status: "found", as: "agent alice-trace" });
    expect(report.timeline.flatMap((e) => (e.step ? [e.step] : []))).toEqual(["T1", "T2", "T3", "T4", "T5", "T6"]);
    for (const entry of report.timeline.slice(1)) expect(entry.gapMs).toBeGreaterThanOrEqual(0);

    const human = await traceCli([
      sent.json.outboundId,
      "--connector",
      alice.connector.configPath,
      "--connector",
      bob.connector.configPath,
      "--agent",
      "alice-trace",
    ]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain("T6 handed to the agent");
    expect(human.stdout).toContain("last hop: recipient.hook_delivered");
  });

  it("dead-lettered: bob's hook fails until the message expires in bob's inbox; read as admin by relay message id", async () => {
    // A hook failing every call is an outage: it charges no attempt (PROTOCOL §8 hook retry
    // budget), so the message waits until its expiresAt and is dead-lettered expired_in_inbox.
    bob.hook.mode = "fail";
    const sent = await alice.connector.send("bob-trace", { n: 2 }, { ttlSeconds: 3 });
    const messageId = await accepted(alice.connector, sent.json.outboundId);
    await waitUntil(
      async () => (await relayRecord("bob-trace", messageId)).terminal === "dead_lettered",
      30_000,
      "dead-lettered",
    );
    bob.hook.mode = "ok";

    const report = await traceJson(messageId, [alice.connector, bob.connector], [], {
      CLAWRELAY_ADMIN_TOKEN: relay.vars.ADMIN_TOKEN,
    });
    expect(report).toMatchObject({ messageId, outcome: "dead_lettered", lastHop: "recipient.dead_lettered" });
    expect(report.sources.relay).toMatchObject({ status: "found", as: "admin" });
    expect(report.diagnosis).toMatch(
      /^dead-lettered by bob-trace's connector at \S+ after 0 hook attempts: expired_in_inbox/,
    );
  });

  it("expired: carol is offline past the message's ttl; last hop = expired at the relay", async () => {
    const carol = await offlineAgent("carol-trace");
    const sent = await alice.connector.send("carol-trace", { n: 3 }, { ttlSeconds: 2 });
    const messageId = await accepted(alice.connector, sent.json.outboundId);
    await waitUntil(
      async () => (await relayRecord("carol-trace", messageId)).terminal === "expired",
      30_000,
      "expired",
    );

    // carol's connector is down: trace says so and goes on with the others.
    const report = await traceJson(messageId, [alice.connector, carol.connector], ["--agent", "alice-trace"]);
    expect(report).toMatchObject({ messageId, to: "carol-trace", outcome: "expired", lastHop: "relay.expired" });
    expect(report.diagnosis).toMatch(/^expired at \S+ after 0 delivery attempts$/);
    expect(report.sources.connectors.map((c) => c.status)).toEqual(["found", "unreachable"]);
  });

  it("shed: a critical message evicts the oldest low one from dave's full queue; the rest is stuck, dave offline", async () => {
    await offlineAgent("dave-trace");
    const low = await alice.connector.send("dave-trace", { n: "low" }, { priority: "low" });
    await accepted(alice.connector, low.json.outboundId);
    const normals: string[] = [];
    for (let i = 0; i < 3; i++) {
      const normal = await alice.connector.send("dave-trace", { n: i }, { priority: "normal" });
      normals.push(await accepted(alice.connector, normal.json.outboundId));
    }

    const queued = await traceJson(normals[0] as string, [alice.connector], ["--agent", "alice-trace"]);
    expect(queued).toMatchObject({
      outcome: "pending",
      stuck: true,
      stuckAt: "relay_queue",
      lastHop: "relay.enqueued",
    });
    expect(queued.diagnosis).toMatch(
      /^queued at relay for dave-trace since \S+ — dave-trace offline since \S+ — expires at/,
    );

    // From bob: alice holds her full share of dave's queue, and that refusal comes before any shedding.
    const critical = await bob.connector.send("dave-trace", { n: "critical" }, { priority: "critical" });
    await accepted(bob.connector, critical.json.outboundId);
    const lowId = await accepted(alice.connector, low.json.outboundId);
    await waitUntil(async () => (await relayRecord("dave-trace", lowId)).terminal === "shed", 30_000, "shed");

    const report = await traceJson(low.json.outboundId, [alice.connector], ["--agent", "alice-trace"]);
    expect(report).toMatchObject({
      messageId: lowId,
      outboundId: low.json.outboundId,
      outcome: "shed",
      lastHop: "relay.shed",
    });
    expect(report.diagnosis).toMatch(/^shed from lane low at \S+ \(evicted for a critical message\)$/);
  });
});
