import { type ProcessedSingleFrame, processedItems } from "@clawrelay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../src/daemon/clock.js";
import { clawrelayFormat, type HookTarget } from "../../src/daemon/hook-formats/clawrelay.js";
import { InboundWorker } from "../../src/daemon/inbound.js";
import { Store } from "../../src/daemon/store.js";
import { captureLogger, messageItem, receiptItem, tempDir, waitUntil } from "./helpers/common.js";
import { type HookAnswer, type HookCall, HookServer } from "./helpers/hook-server.js";
import { type InboundOverrides, TEST_DELIVERY } from "./helpers/inbound-worker.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  store: Store;
  worker: InboundWorker;
  hook: HookServer;
  reports: ProcessedSingleFrame[];
  linkUp: { value: boolean };
  logs: ReturnType<typeof captureLogger>;
}

async function setup(
  answer: (call: HookCall, index: number) => HookAnswer,
  { delivery, ...overrides }: InboundOverrides = {},
  hookOverrides: Partial<HookTarget> = {},
): Promise<Setup> {
  const dir = tempDir();
  const hook = await new HookServer(answer).start();
  const store = Store.open(dir.path, { inboxMaxItems: 100, outboxMaxItems: 100, dedupWindowMs: 7 * 86_400_000 });
  const reports: ProcessedSingleFrame[] = [];
  const linkUp = { value: true };
  const logs = captureLogger();
  const worker = new InboundWorker({
    store,
    clock: systemClock,
    random: () => 1,
    fetch: (input, init) => fetch(input, init),
    logger: logs.logger,
    format: clawrelayFormat({
      messageUrl: hook.url("/hook"),
      receiptUrl: hook.url("/receipts"),
      token: "hook-secret",
      timeoutMs: 2_000,
      ...hookOverrides,
    }),
    delivery: { ...TEST_DELIVERY, ...delivery },
    sendReport: (frame) => {
      if (!linkUp.value) return false;
      // One entry per report, whichever form the frame took (batching has its own tests).
      for (const item of processedItems(frame)) reports.push({ type: "processed", ...item });
      return true;
    },
    ...overrides,
  });
  cleanups.push(dir.remove);
  cleanups.push(() => store.close());
  cleanups.push(() => hook.close());
  cleanups.push(() => worker.stop(100));
  return { store, worker, hook, reports, linkUp, logs };
}

function deliver(s: Setup, ...items: Parameters<Store["storeInbound"]>[0]): void {
  s.store.storeInbound(items, Date.now());
  s.worker.wake();
}

describe("inbound hook delivery", () => {
  it("POSTs messages with ids and bearer token, receipts to the receipt hook, and reports processed", async () => {
    const s = await setup(() => ({ status: 204 }));
    const message = messageItem();
    const receipt = receiptItem({ status: "failed", reason: "unknown_recipient" });
    deliver(s, message, receipt);
    await waitUntil(() => s.hook.calls.items.length === 2 && s.reports.length === 1, 5_000, "two hook calls");
    const receiptCall = s.hook.calls.items.find((call) => call.path === "/receipts");
    const messageCall = s.hook.calls.items.find((call) => call.path === "/hook");
    expect(messageCall?.body).toEqual({ type: "clawrelay.message.v1", item: message });
    expect(messageCall?.headers).toMatchObject({
      "x-claw-correlation-id": message.correlationId,
      "x-claw-message-id": message.id,
      authorization: "Bearer hook-secret",
      "content-type": "application/json",
    });
    expect(receiptCall?.body).toEqual({ type: "clawrelay.receipt.v1", receipt: receipt.receipt });
    expect(receiptCall?.headers["x-claw-message-id"]).toBe(receipt.receipt.messageId);
    // Receipts come first (critical lane); only the message gets a processed frame.
    expect(s.hook.calls.items[0]?.path).toBe("/receipts");
    expect(s.reports).toEqual([{ type: "processed", id: message.id, outcome: "processed" }]);
    expect(s.store.counts()).toMatchObject({ inboxPending: 0, deadLetters: 0, pendingReports: 0 });
  });

  it("retries 408, 429 and 5xx with backoff, then delivers", async () => {
    const statuses = [408, 429, 503, 500, 200];
    const s = await setup((_call, index) => ({ status: statuses[index] ?? 200 }), { delivery: { maxAttempts: 10 } });
    const message = messageItem();
    deliver(s, message);
    await waitUntil(() => s.reports.length === 1, 5_000, "processed report");
    expect(s.hook.calls.items).toHaveLength(5);
    expect(s.reports[0]).toEqual({ type: "processed", id: message.id, outcome: "processed" });
    expect(s.logs.events().filter((event) => event === "hook_retry")).toHaveLength(4);
  });

  it("keeps each lane in order: an item waiting to be retried holds back its lane, not the others", async () => {
    // The first call (the first critical item) gets a 503 with Retry-After; everything else succeeds.
    const s = await setup((_call, index) =>
      index === 0 ? { status: 503, headers: { "retry-after": "1" } } : { status: 200 },
    );
    const [first, second] = [messageItem({ priority: "critical" }), messageItem({ priority: "critical" })];
    const normal = messageItem({ priority: "normal" });
    deliver(s, first, second, normal);
    await waitUntil(() => s.reports.length === 3, 5_000, "all three delivered");
    const order = s.hook.calls.items.map((call) => (call.body as { item: { id: string } }).item.id);
    expect(order).toEqual([first.id, normal.id, first.id, second.id]);
  });

  it("honours a hook's Retry-After", async () => {
    const s = await setup((_call, index) =>
      index === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 },
    );
    deliver(s, messageItem());
    await waitUntil(() => s.reports.length === 1, 5_000, "delivery after Retry-After");
    const [first, second] = s.hook.calls.items;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("fails other 4xx at once: dead letter and a processed frame with outcome failed", async () => {
    const s = await setup(() => ({ status: 422 }));
    const message = messageItem();
    deliver(s, message);
    await waitUntil(() => s.reports.length === 1, 5_000, "failed report");
    expect(s.hook.calls.items).toHaveLength(1);
    expect(s.reports[0]).toEqual({ type: "processed", id: message.id, outcome: "failed", reason: "hook_status_422" });
    expect(s.store.inbox.listDeadLetters(10)).toMatchObject([{ id: message.id, attempts: 1 }]);
  });

  it("opens the breaker after 5 consecutive failures, keeps storing, then recovers with one probe", async () => {
    let healthy = false;
    const s = await setup(() => ({ status: healthy ? 200 : 503 }), {
      delivery: { maxAttempts: 100, breakerOpenMs: 400 },
    });
    const first = messageItem();
    deliver(s, first);
    await waitUntil(() => s.worker.status().breaker === "open", 5_000, "breaker open");
    expect(s.hook.calls.items).toHaveLength(5);
    // Items keep arriving into the durable inbox while the hook is paused.
    const more = [messageItem(), messageItem(), messageItem()];
    deliver(s, ...more);
    expect(s.store.counts().inboxPending).toBe(4);
    expect(s.hook.calls.items).toHaveLength(5);
    healthy = true;
    await waitUntil(() => s.reports.length === 4, 5_000, "all delivered after recovery");
    // Exactly one probe went first after the open window; then the rest flowed.
    expect(s.hook.calls.items).toHaveLength(9);
    expect(s.hook.calls.items[5]?.at ?? 0).toBeGreaterThanOrEqual((s.hook.calls.items[4]?.at ?? 0) + 350);
    expect(s.worker.status().breaker).toBe("closed");
    expect(s.logs.events()).toEqual(expect.arrayContaining(["hook_breaker_open", "hook_breaker_closed"]));
  });

  it("keeps processed frames while the link is down and sends them when asked to flush", async () => {
    const s = await setup(() => ({ status: 200 }));
    s.linkUp.value = false;
    const message = messageItem();
    deliver(s, message);
    await waitUntil(() => s.store.counts().pendingReports === 1, 5_000, "pending report");
    expect(s.reports).toEqual([]);
    s.linkUp.value = true;
    s.worker.flushReports();
    expect(s.reports).toEqual([{ type: "processed", id: message.id, outcome: "processed" }]);
    expect(s.store.counts().pendingReports).toBe(0);
  });

  it("treats a hook timeout as retryable", async () => {
    const s = await setup(
      (_call, index) => (index === 0 ? "hang" : { status: 200 }),
      {},
      {
        token: undefined,
        timeoutMs: 150,
      },
    );
    deliver(s, messageItem());
    await waitUntil(() => s.reports.length === 1, 5_000, "delivery after a timeout");
    expect(s.hook.calls.items).toHaveLength(2);
    expect(s.hook.calls.items[0]?.headers.authorization).toBeUndefined();
    expect(s.logs.lines.find((line) => line.event === "hook_retry")?.reason).toBe("hook_timeout");
  });
});
