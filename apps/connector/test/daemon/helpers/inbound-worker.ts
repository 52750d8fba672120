import { type DeliverItem, type ProcessedSingleFrame, processedItems } from "@clawrelay/protocol";
import { afterEach } from "vitest";
import type { Clock } from "../../../src/daemon/clock.js";
import { systemClock } from "../../../src/daemon/clock.js";
import { clawrelayFormat } from "../../../src/daemon/hook-formats/clawrelay.js";
import type { HookFormat } from "../../../src/daemon/hook-formats/types.js";
import { type HookDeliveryConfig, type InboundOptions, InboundWorker } from "../../../src/daemon/inbound.js";
import type { Store } from "../../../src/daemon/store.js";
import { captureLogger } from "./common.js";
import { type HookAnswer, type HookCall, HookServer } from "./hook-server.js";
import { tempStores } from "./store.js";

/** The default hook format, unsigned, posting to the test hook's `/hook` and `/receipts`. */
export function unsignedHookFormat(hook: HookServer): HookFormat {
  return clawrelayFormat({
    messageUrl: hook.url("/hook"),
    receiptUrl: hook.url("/receipts"),
    token: undefined,
    timeoutMs: 2_000,
  });
}

/** Quick retries and a quick breaker, so the tests wait milliseconds. */
export const TEST_DELIVERY: HookDeliveryConfig = {
  maxAttempts: 4,
  backoffBaseMs: 5,
  backoffMaxMs: 20,
  breakerFailures: 5,
  breakerOpenMs: 300,
  concurrency: 1,
};

/** Options over the helper's; `delivery` is merged field by field over the test delivery settings. */
export type InboundOverrides = Partial<Omit<InboundOptions, "delivery">> & { delivery?: Partial<HookDeliveryConfig> };

export interface WorkerSetup {
  store: Store;
  worker: InboundWorker;
  hook: HookServer;
  reports: ProcessedSingleFrame[];
  logs: ReturnType<typeof captureLogger>;
  clock: Clock;
  /** Store items as the relay link would, and wake the worker. */
  deliver(...items: DeliverItem[]): void;
}

/**
 * An InboundWorker with a real store, a real HTTP hook (HookServer) and a format made for that
 * hook's URL. Everything is closed after each test of the file that calls this.
 */
export function inboundWorkers() {
  const stores = tempStores();
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async function setup(
    answer: (call: HookCall, index: number) => HookAnswer | Promise<HookAnswer>,
    format: (hook: HookServer) => HookFormat,
    { delivery, ...overrides }: InboundOverrides = {},
  ): Promise<WorkerSetup> {
    const hook = await new HookServer(answer).start();
    const { store } = stores.open();
    const reports: ProcessedSingleFrame[] = [];
    const logs = captureLogger();
    const clock = overrides.clock ?? systemClock;
    const worker = new InboundWorker({
      store,
      clock,
      random: () => 1,
      fetch: (input, init) => fetch(input, init),
      logger: logs.logger,
      format: format(hook),
      delivery: { ...TEST_DELIVERY, ...delivery },
      sendReport: (frame) => {
        // One entry per report, whichever form the frame took (batching has its own tests).
        for (const item of processedItems(frame)) reports.push({ type: "processed", ...item });
        return true;
      },
      ...overrides,
    });
    // The worker stops before its store closes (tempStores closes stores after this file's cleanups).
    cleanups.push(() => hook.close());
    cleanups.push(() => worker.stop(100));
    const deliver = (...items: DeliverItem[]) => {
      store.storeInbound(items, clock.now());
      worker.wake();
    };
    return { store, worker, hook, reports, logs, clock, deliver };
  };
}
