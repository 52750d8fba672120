import { env } from "cloudflare:workers";
import { metricsShardOf, RELAY_ATTENTION_DEFAULTS, type SessionSummary } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { type AttentionEntry, byUrgency } from "../../src/metrics/attention.js";
import type { StatusAggregate } from "../../src/metrics/operator-status.js";
import { adminCall, type TestAgent } from "../support/agents.js";
import { knownAgent, sendOk, uniqueId } from "../support/session.js";
import { advanceClock, connect, fireAlarm, type TestSocket } from "../support/socket.js";

const DAY = 86_400_000;
const LAST_SUCCESS_AT = 1_700_000_000_000;

interface HealthOptions {
  breaker?: "closed" | "open" | "half_open";
  inbox?: { pending: number; oldestAt: number | null; deadLetters: number };
  outbox?: { pending: number; oldestAt: number | null };
  tokenExpiresAt?: number | null;
}

/** A `health` frame as a connector sends it (PROTOCOL.md §6); healthy unless told otherwise. */
function healthFrame(options: HealthOptions = {}) {
  const breaker = options.breaker ?? "closed";
  return {
    type: "health",
    hook: {
      breaker,
      ...(breaker === "closed" ? {} : { lastError: "hook_status_500" }),
      lastSuccessAt: LAST_SUCCESS_AT,
    },
    inbox: options.inbox ?? { pending: 0, oldestAt: null, deadLetters: 0 },
    outbox: options.outbox ?? { pending: 0, oldestAt: null },
    tokenExpiresAt: options.tokenExpiresAt === undefined ? Date.now() + 60 * DAY : options.tokenExpiresAt,
    version: "0.1.0",
  };
}

/** Send a frame and wait until the session handled it (an invalid frame after it is answered in order). */
async function sendHealth(socket: TestSocket, options: HealthOptions = {}): Promise<void> {
  socket.send(healthFrame(options));
  socket.send("not json");
  expect((await socket.next("error")).code).toBe("invalid_frame");
}

async function status(): Promise<StatusAggregate> {
  const res = await adminCall("GET", "/v1/status");
  expect(res.status).toBe(200);
  return (await res.json()) as StatusAggregate;
}

/**
 * The agent's attention entries once its session has reported what it knows: reports are
 * throttled to one per 10 s, so the session's clock moves past that — once, so that no socket
 * turns stale meanwhile and clears the view for the wrong reason — and its alarm runs.
 */
async function attentionOnceReported(
  agent: TestAgent,
  expected: (entries: AttentionEntry[]) => boolean,
): Promise<AttentionEntry[]> {
  let entries: AttentionEntry[] = [];
  await advanceClock(agent.id, 11_000);
  await expect
    .poll(async () => {
      await fireAlarm(agent.id);
      entries = (await status()).attention.filter((e) => e.agentId === agent.id);
      return expected(entries);
    })
    .toBe(true);
  return entries;
}

const reasons = (entries: AttentionEntry[]) => entries.map((e) => e.reason).sort();

function reportTo(summary: SessionSummary): Promise<void> {
  const shard = env.METRICS_SHARD.get(env.METRICS_SHARD.idFromName(`shard-${metricsShardOf(summary.agentId)}`));
  return shard.report(summary);
}

/** A session summary with a queue and, unless `connected` is false, one active connector. */
function summary(
  agentId: string,
  at: number,
  queue: { items: number; oldestQueuedAt: number | null },
  connected = true,
) {
  const lane = { items: 0, bytes: 0, oldestQueuedAt: null };
  return {
    agentId,
    at,
    known: true,
    connections: connected ? [{ connectorId: "c1", role: "active", connectedAt: at - 1000, lastPingAt: null }] : [],
    queue: {
      items: queue.items,
      bytes: queue.items * 100,
      inFlight: 0,
      oldestQueuedAt: queue.oldestQueuedAt,
      lanes: {
        critical: { ...lane },
        normal: { items: queue.items, bytes: queue.items * 100, oldestQueuedAt: queue.oldestQueuedAt },
        low: { ...lane },
      },
      receipts: { items: 0, bytes: 0 },
    },
    breaker: { state: "closed", consecutiveFailures: 0, openedAt: null },
    receiptBreakers: [],
    hours: [],
    recentFailures: [],
  } satisfies SessionSummary;
}

describe("/v1/status attention", () => {
  it("hook_failing: an open breaker in a health frame lists the agent; a closed one clears it", async () => {
    const bob = await knownAgent("bob");
    const { socket } = await connect(bob, { connectorId: "bob-main" });
    const oldestAt = LAST_SUCCESS_AT + 60_000;
    await sendHealth(socket, { breaker: "open", inbox: { pending: 4, oldestAt: Date.now(), deadLetters: 0 } });
    await sendHealth(socket, { breaker: "open", inbox: { pending: 5, oldestAt, deadLetters: 0 } });
    const [entry] = await attentionOnceReported(bob, (e) => e.some((x) => x.reason === "hook_failing"));
    expect(entry).toEqual({
      agentId: bob.id,
      reason: "hook_failing",
      // The oldest item waiting behind the hook, which is after its last success.
      since: oldestAt,
      detail: {
        reason: "hook_failing",
        connectorId: "bob-main",
        breaker: "open",
        lastError: "hook_status_500",
        lastSuccessAt: LAST_SUCCESS_AT,
      },
    });
    await advanceClock(bob.id, 11_000);
    await sendHealth(socket);
    expect(await attentionOnceReported(bob, (e) => e.length === 0)).toEqual([]);
    socket.close();
  });

  it("a health frame reaches the view on its own: no alarm and no other request needed", async () => {
    const frank = await knownAgent("frank");
    const { socket } = await connect(frank, { connectorId: "frank-main" });
    await sendHealth(socket);
    // Past the report throttle and the health frame interval; then the frame alone must report.
    await advanceClock(frank.id, 11_000);
    await sendHealth(socket, { breaker: "open" });
    await expect
      .poll(async () => (await status()).attention.filter((e) => e.agentId === frank.id).map((e) => e.reason))
      .toEqual(["hook_failing"]);
    socket.close();
  });

  it("a hook back within 10 s of the previous frame still leaves the list (a connector's period jitters)", async () => {
    const gina = await knownAgent("gina");
    const { socket } = await connect(gina, { connectorId: "gina-main" });
    await sendHealth(socket);
    await advanceClock(gina.id, 11_000);
    await sendHealth(socket, { breaker: "open" });
    await expect
      .poll(async () => {
        await fireAlarm(gina.id);
        return (await status()).attention.some((e) => e.agentId === gina.id);
      })
      .toBe(true);
    // The connector's next frame arrives a little under its 10 s period after the last one.
    await advanceClock(gina.id, 9_000);
    await sendHealth(socket);
    expect(await attentionOnceReported(gina, (e) => e.length === 0)).toEqual([]);
    socket.close();
  });

  it("dead_letters and token_expiring come from the health frame and leave with it", async () => {
    const carol = await knownAgent("carol");
    const { socket } = await connect(carol, { connectorId: "carol-main" });
    const tokenExpiresAt = Date.now() + 2 * DAY;
    await sendHealth(socket, { inbox: { pending: 0, oldestAt: null, deadLetters: 3 }, tokenExpiresAt });
    const entries = await attentionOnceReported(carol, (e) => e.length === 2);
    expect(reasons(entries)).toEqual(["dead_letters", "token_expiring"]);
    expect(entries.find((e) => e.reason === "dead_letters")?.detail).toEqual({
      reason: "dead_letters",
      connectorId: "carol-main",
      deadLetters: 3,
    });
    const expiring = entries.find((e) => e.reason === "token_expiring");
    expect(expiring?.since).toBe(tokenExpiresAt - RELAY_ATTENTION_DEFAULTS.tokenExpiringMs);
    expect(expiring?.detail).toEqual({
      reason: "token_expiring",
      connectorId: "carol-main",
      tokenExpiresAt,
      expired: false,
    });
    // Dead letters replayed, a renewed token: the connector's next report clears both.
    await advanceClock(carol.id, 11_000);
    await sendHealth(socket, { tokenExpiresAt: Date.now() + 30 * DAY });
    expect(await attentionOnceReported(carol, (e) => e.length === 0)).toEqual([]);
    socket.close();
  });

  it("backlog_old: a connector's inbox or outbox older than the threshold, and nothing once drained", async () => {
    const dave = await knownAgent("dave");
    const { socket } = await connect(dave, { connectorId: "dave-main" });
    const now = Date.now();
    const young = now - RELAY_ATTENTION_DEFAULTS.backlogAgeMs / 2;
    const old = now - 2 * RELAY_ATTENTION_DEFAULTS.backlogAgeMs;
    // A young inbox is no problem, an old outbox is.
    await sendHealth(socket, {
      inbox: { pending: 2, oldestAt: young, deadLetters: 0 },
      outbox: { pending: 7, oldestAt: old },
    });
    const [entry] = await attentionOnceReported(dave, (e) => e.length > 0);
    expect(entry).toEqual({
      agentId: dave.id,
      reason: "backlog_old",
      since: old,
      detail: { reason: "backlog_old", where: "outbox", oldestAt: old, items: 7, connectorId: "dave-main" },
    });
    await advanceClock(dave.id, 11_000);
    await sendHealth(socket);
    expect(await attentionOnceReported(dave, (e) => e.length === 0)).toEqual([]);
    socket.close();
  });

  it("backlog_old and offline_with_queue from the relay's own queue, cleared by a newer summary", async () => {
    const now = Date.now();
    const old = now - 2 * RELAY_ATTENTION_DEFAULTS.backlogAgeMs;
    const [connected, offline] = [uniqueId("queued"), uniqueId("offline")];
    await reportTo(summary(connected, now, { items: 4, oldestQueuedAt: old }));
    await reportTo(summary(offline, now, { items: 1, oldestQueuedAt: now - 1000 }, false));
    const listed = (await status()).attention.filter((e) => e.agentId === connected || e.agentId === offline);
    expect(listed).toEqual([
      {
        agentId: offline,
        reason: "offline_with_queue",
        since: now - 1000,
        detail: { reason: "offline_with_queue", items: 1, oldestQueuedAt: now - 1000 },
      },
      {
        agentId: connected,
        reason: "backlog_old",
        since: old,
        detail: { reason: "backlog_old", where: "relay", oldestAt: old, items: 4, connectorId: null },
      },
    ]);
    await reportTo(summary(connected, now + 1, { items: 0, oldestQueuedAt: null }));
    await reportTo(summary(offline, now + 1, { items: 0, oldestQueuedAt: null }, false));
    const after = (await status()).attention.filter((e) => e.agentId === connected || e.agentId === offline);
    expect(after).toEqual([]);
  });

  it("offline_with_queue from a real session: queued with no connector, gone once delivered", async () => {
    const [alice, erin] = [await knownAgent("alice"), await knownAgent("erin")];
    await sendOk(alice, erin, { payload: "while away" });
    const [entry] = await attentionOnceReported(erin, (e) => e.some((x) => x.reason === "offline_with_queue"));
    expect(entry).toMatchObject({ reason: "offline_with_queue", detail: { items: 1 } });
    // Since the oldest queued item: the one message.
    const detail = entry?.detail;
    expect(detail?.reason === "offline_with_queue" ? detail.oldestQueuedAt : null).toBe(entry?.since);
    const { socket } = await connect(erin);
    socket.ack((await socket.items(1)).map((item) => item.id));
    expect(await attentionOnceReported(erin, (e) => e.length === 0)).toEqual([]);
    socket.close();
  });

  it("is bounded: the most urgent entries, ordered, and a count of all", async () => {
    const now = Date.now();
    const extra = 20;
    for (let i = 0; i < RELAY_ATTENTION_DEFAULTS.listed + extra; i++) {
      await reportTo(summary(uniqueId("many"), now, { items: 1, oldestQueuedAt: now - i }, false));
    }
    const view = await status();
    expect(view.attention).toHaveLength(RELAY_ATTENTION_DEFAULTS.listed);
    expect(view.attentionTotal).toBeGreaterThanOrEqual(RELAY_ATTENTION_DEFAULTS.listed + extra);
    expect([...view.attention].sort(byUrgency)).toEqual(view.attention);
    // Every existing field is still there beside it.
    expect(view).toMatchObject({ openBreakers: expect.any(Array), worstQueues: expect.any(Array) });
  });
});
