import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConnectorConfig } from "../../src/daemon/config.js";
import { openClawFormat } from "../../src/daemon/hook-formats/openclaw.js";
import type { HookDeliveryConfig } from "../../src/daemon/inbound.js";
import { ManualClock } from "./helpers/clock.js";
import { messageItem, receiptItem } from "./helpers/common.js";
import type { HookAnswer, HookCall, HookServer } from "./helpers/hook-server.js";
import {
  type InboundOverrides,
  inboundWorkers,
  unsignedHookFormat,
  type WorkerSetup,
} from "./helpers/inbound-worker.js";

const setup = inboundWorkers();

// Date follows the manual clock too, so nothing in the worker (a library reading Date.now) runs on
// another time than the one the test moves.
afterEach(() => {
  vi.useRealTimers();
});

const DEFAULTS = parseConnectorConfig({
  agentId: "bob-agent",
  identityDir: "/unused",
  relayUrls: ["https://relay.example.com"],
  dataDir: "/unused",
  hookUrl: "http://127.0.0.1:1/hook",
});
const DEFAULT_BUDGET: Partial<HookDeliveryConfig> = {
  maxAttempts: DEFAULTS.hookMaxAttempts,
  backoffBaseMs: DEFAULTS.hookBackoffBaseMs,
  backoffMaxMs: DEFAULTS.hookBackoffMaxMs,
  breakerFailures: DEFAULTS.hookBreakerFailures,
  breakerOpenMs: DEFAULTS.hookBreakerOpenMs,
};

const format = unsignedHookFormat;

/** The item id a hook call carries. */
const idOf = (call: HookCall) => (call.body as { item: { id: string } }).item.id;

/** Wait until the hook calls the clock set off have finished (nothing more moves until it advances). */
async function settle(s: WorkerSetup): Promise<void> {
  // Measured on performance.now(): Date is the manual clock's here.
  const deadline = performance.now() + 5_000;
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (s.worker.status().inFlight === 0) return;
    if (performance.now() > deadline) throw new Error("timed out waiting for hook calls to finish");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Move the clock `ms` forward in steps, letting the worker act at each. */
async function run(s: WorkerSetup, clock: ManualClock, ms: number, stepMs = 1_000): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
    clock.advance(Math.min(stepMs, ms - elapsed));
    vi.setSystemTime(clock.now());
    await settle(s);
  }
}

function manualClock(): ManualClock {
  const clock = new ManualClock();
  vi.useFakeTimers({ toFake: ["Date"], now: clock.now() });
  return clock;
}

async function start(answer: (call: HookCall, index: number) => HookAnswer, overrides: InboundOverrides) {
  const clock = manualClock();
  const s = await setup(answer, format, { clock, random: () => 0.5, ...overrides });
  return { s, clock };
}

describe("hook retry budget (PROTOCOL.md §8)", () => {
  it("at default settings a 3.5-minute outage dead-letters nothing, and the message is delivered after it", async () => {
    let down = true;
    const { s, clock } = await start(() => ({ status: down ? 503 : 200 }), { delivery: DEFAULT_BUDGET });
    const item = messageItem({ expiresAt: clock.now() + 6 * 3_600_000 });
    s.deliver(item);
    await settle(s);
    await run(s, clock, 210_000);
    // More failed calls than hookMaxAttempts were made, and none of them used up the message.
    expect(s.store.counts()).toMatchObject({ deadLetters: 0, inboxPending: 1 });
    expect(s.hook.calls.items.length).toBeGreaterThan(DEFAULTS.hookMaxAttempts);
    down = false;
    await run(s, clock, DEFAULTS.hookBreakerOpenMs + 1_000);
    expect(s.reports).toEqual([{ type: "processed", id: item.id, outcome: "processed" }]);
  });

  it("calls made while the hook is down count toward no item's attempts", async () => {
    let down = true;
    const { s, clock } = await start(() => ({ status: down ? 503 : 200 }), {
      delivery: { ...DEFAULT_BUDGET, maxAttempts: 2 },
    });
    const items = [messageItem({ expiresAt: clock.now() + 6 * 3_600_000 }), receiptItem({ status: "failed" })];
    s.deliver(...items);
    await settle(s);
    await run(s, clock, 3_600_000, 30_000);
    expect(s.hook.calls.items.length).toBeGreaterThan(100);
    down = false;
    await run(s, clock, 31_000);
    expect(s.store.counts()).toMatchObject({ deadLetters: 0, inboxPending: 0 });
    // Each was delivered on what counts as its first attempt.
    const delivered = s.logs.lines.filter((line) => line.event === "hook_delivered");
    expect(delivered.map((line) => line.attempt)).toEqual([1, 1]);
  });

  it("delivery resumes at the successful probe: what waited goes at once, in lane order, not after its own backoff", async () => {
    let down = true;
    // Own backoffs (10 s and more) are longer than the breaker's open window (5 s).
    const { s, clock } = await start(
      () => {
        times.push(clock.now());
        return { status: down ? 503 : 200 };
      },
      {
        delivery: {
          maxAttempts: 10,
          backoffBaseMs: 10_000,
          backoffMaxMs: 60_000,
          breakerFailures: 3,
          breakerOpenMs: 5_000,
        },
        random: () => 1,
      },
    );
    const times: number[] = [];
    const critical = messageItem({ priority: "critical" });
    const [normal1, normal2] = [messageItem({ priority: "normal" }), messageItem({ priority: "normal" })];
    const low = messageItem({ priority: "low" });
    s.deliver(critical, normal1, normal2, low);
    await settle(s);
    // One failure per lane head opened the breaker.
    expect(s.hook.calls.items.map(idOf)).toEqual([critical.id, normal1.id, low.id]);
    expect(s.worker.status().breaker).toBe("open");
    await run(s, clock, 4_000);
    down = false;
    await run(s, clock, 1_000);
    const probeAt = times[3] ?? 0;
    expect(s.store.counts().inboxPending).toBe(0);
    expect(s.hook.calls.items.slice(3).map(idOf)).toEqual([critical.id, normal1.id, normal2.id, low.id]);
    for (const at of times.slice(3)) expect(at - probeAt).toBeLessThan(1_000);
  });

  it("a message the hook keeps refusing while other items succeed is dead-lettered after hookMaxAttempts", async () => {
    let outage = true;
    const poison = messageItem({ priority: "normal", expiresAt: Date.UTC(2030, 0, 1) });
    const { s, clock } = await start(
      (call) => ({ status: outage || (call.body as { item: { id: string } }).item.id === poison.id ? 500 : 200 }),
      { delivery: { ...DEFAULT_BUDGET, maxAttempts: 3 } },
    );
    s.deliver(poison);
    await settle(s);
    // An outage first: its failed calls are not the message's fault.
    await run(s, clock, 300_000, 5_000);
    const outageCalls = s.hook.calls.items.length;
    expect(outageCalls).toBeGreaterThan(3);
    expect(s.store.counts().deadLetters).toBe(0);
    // Then the hook takes everything but this one message, and another item gets through between
    // any two of its calls (its backoff is 30 s by now: the default 60 s cap, times random 0.5).
    outage = false;
    for (let round = 0; round < 20 && s.store.counts().deadLetters === 0; round++) {
      s.deliver(messageItem({ priority: "critical" }));
      await settle(s);
      await run(s, clock, DEFAULTS.hookBackoffMaxMs / 2, 10_000);
    }
    const poisonCalls = s.hook.calls.items.slice(outageCalls).filter((call) => idOf(call) === poison.id);
    expect(poisonCalls).toHaveLength(3);
    expect(s.store.inbox.listDeadLetters(10)).toMatchObject([
      { id: poison.id, attempts: 3, reason: "retries exhausted: hook_status_500" },
    ]);
    expect(s.reports.filter((report) => "id" in report && report.id === poison.id)).toEqual([
      { type: "processed", id: poison.id, outcome: "dead_lettered", reason: "retries exhausted: hook_status_500" },
    ]);
  });

  it("a message still undelivered at its expiresAt is dead-lettered expired_in_inbox, at that moment", async () => {
    let healthy = false;
    const { s, clock } = await start(() => ({ status: healthy ? 200 : 503 }), {
      delivery: { ...DEFAULT_BUDGET, maxAttempts: 1_000 },
    });
    const expiresAt = clock.now() + 600_000 + 7_777;
    const item = messageItem({ expiresAt });
    s.deliver(item);
    await settle(s);
    await run(s, clock, expiresAt - clock.now() - 1, 10_000);
    expect(s.store.counts()).toMatchObject({ deadLetters: 0, inboxPending: 1 });
    const callsBefore = s.hook.calls.items.length;
    await run(s, clock, 1);
    expect(s.store.inbox.listDeadLetters(10)).toMatchObject([
      { id: item.id, reason: "expired_in_inbox", deadAt: expiresAt },
    ]);
    expect(s.hook.calls.items).toHaveLength(callsBefore);
    await run(s, clock, 100);
    expect(s.reports).toEqual([
      { type: "processed", id: item.id, outcome: "dead_lettered", reason: "expired_in_inbox" },
    ]);
    // An operator's replay asks for it again on purpose: it is delivered, past its deadline.
    healthy = true;
    s.worker.replayed(s.store.inbox.replayDeadLetters([item.id], clock.now()));
    await run(s, clock, DEFAULTS.hookBreakerOpenMs + 1_000);
    expect(s.store.counts()).toMatchObject({ deadLetters: 0, inboxPending: 0 });
    expect(s.hook.calls.items.length).toBe(callsBefore + 1);
  });

  it("a receipt waits 7 days, even behind a held hook, then is dead-lettered expired_in_inbox", async () => {
    const clock = manualClock();
    const gateway = (hook: HookServer) =>
      openClawFormat({
        url: hook.url(""),
        hooksPath: "/hooks",
        token: "refused-token",
        agentId: undefined,
        sessionKeyPrefix: "hook:clawrelay:",
        waitForCompletion: true,
        receiptTurns: ["expired"],
        timeoutMs: 2_000,
      });
    const s = await setup(() => ({ status: 401 }), gateway, { clock, delivery: DEFAULT_BUDGET });
    const receipt = receiptItem({ status: "expired" });
    const arrivedAt = clock.now();
    s.deliver(receipt);
    await settle(s);
    expect(s.worker.status().held).toMatchObject({ status: 401 });
    await run(s, clock, 7 * 86_400_000 - 1, 3_600_000);
    expect(s.store.counts()).toMatchObject({ deadLetters: 0, inboxPending: 1 });
    await run(s, clock, 1);
    expect(s.store.inbox.listDeadLetters(10)).toMatchObject([
      { id: receipt.id, reason: "expired_in_inbox", deadAt: arrivedAt + 7 * 86_400_000 },
    ]);
    expect(s.hook.calls.items).toHaveLength(1);
  });
});
