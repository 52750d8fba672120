import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/daemon/clock.js";
import { clawrelayFormat } from "../../src/daemon/hook-formats/clawrelay.js";
import { InboundWorker } from "../../src/daemon/inbound.js";
import { ConnectorMetrics } from "../../src/daemon/metrics.js";
import { Store } from "../../src/daemon/store.js";
import { captureLogger, messageItem, receiptItem, tempDir, waitUntil } from "./helpers/common.js";
import { HookServer } from "./helpers/hook-server.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("connector metrics", () => {
  it("counts hook latency and outcomes, breaker transitions, and the age of what still waits", async () => {
    let healthy = false;
    const hook = await new HookServer(() => ({ status: healthy ? 200 : 503 })).start();
    const dir = tempDir();
    const store = Store.open(dir.path, { inboxMaxItems: 100, outboxMaxItems: 100, dedupWindowMs: 86_400_000 });
    const metrics = new ConnectorMetrics(Date.now());
    const worker = new InboundWorker({
      store,
      clock: systemClock,
      random: () => 1,
      fetch: (input, init) => fetch(input, init),
      logger: captureLogger().logger,
      format: clawrelayFormat({
        messageUrl: hook.url("/hook"),
        receiptUrl: hook.url("/receipts"),
        token: undefined,
        timeoutMs: 2_000,
      }),
      delivery: {
        maxAttempts: 100,
        backoffBaseMs: 5,
        backoffMaxMs: 20,
        breakerFailures: 3,
        breakerOpenMs: 200,
        concurrency: 1,
      },
      sendReport: () => true,
      metrics,
    });
    cleanups.push(
      dir.remove,
      () => store.close(),
      () => hook.close(),
      () => worker.stop(100),
    );

    const empty = metrics.view(Date.now(), store.oldestPending());
    expect(empty.inboxOldestAgeMs).toBeNull();
    expect(empty.outboxOldestAgeMs).toBeNull();
    expect(empty.hookLatencyMs.message.p50).toBeNull();

    const arrivedAt = Date.now();
    store.storeInbound([messageItem(), receiptItem({ status: "delivered" })], arrivedAt);
    worker.wake();
    await waitUntil(
      () => metrics.view(Date.now(), store.oldestPending()).breakerTransitions.counts["hook:open"] === 1,
      5_000,
      "breaker open",
    );
    const waiting = metrics.view(arrivedAt + 5_000, store.oldestPending());
    expect(waiting.inboxOldestAgeMs).toBe(5_000);
    expect((waiting.hookOutcomes["message:retry"] ?? 0) + (waiting.hookOutcomes["receipt:retry"] ?? 0)).toBe(3);

    healthy = true;
    await waitUntil(() => store.counts().inboxPending === 0, 5_000, "both delivered after recovery");
    const after = metrics.view(Date.now(), store.oldestPending());
    expect(after.inboxOldestAgeMs).toBeNull();
    expect(after.hookOutcomes["message:delivered"]).toBe(1);
    expect(after.hookOutcomes["receipt:delivered"]).toBe(1);
    const calls = hook.calls.items.length;
    expect(after.hookLatencyMs.message.count + after.hookLatencyMs.receipt.count).toBe(calls);
    expect(after.hookLatencyMs.message.p99).toBeGreaterThanOrEqual(0);
    expect(after.breakerTransitions.counts).toMatchObject({ "hook:open": 1, "hook:closed": 1 });
    expect(after.breakerTransitions.recent[0]).toMatchObject({ breaker: "hook", state: "closed" });
  });
});
