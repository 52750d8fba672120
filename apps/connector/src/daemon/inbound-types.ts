import type { ProcessedFrame } from "@clawrelay/protocol";
import type { Logger } from "pino";
import type { BreakerState } from "./breaker.js";
import type { Clock, Random } from "./clock.js";
import type { FetchLike, HookFormat } from "./hook-client.js";
import type { HookFormatName } from "./hook-formats/types.js";
import type { ConnectorMetrics } from "./metrics.js";
import type { StopPoints } from "./stop-points.js";
import type { Store } from "./store.js";

/** How hook calls are retried and paced: the hook part of the config (config-groups.ts). */
export interface HookDeliveryConfig {
  /** Charged failures before an item is dead-lettered (hook-budget.ts). */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  breakerFailures: number;
  breakerOpenMs: number;
  /** Hook calls under way at once. */
  concurrency: number;
}

export interface InboundOptions {
  store: Store;
  clock: Clock;
  random: Random;
  fetch: FetchLike;
  logger: Logger;
  format: HookFormat;
  delivery: HookDeliveryConfig;
  /** Send a `processed` frame on the live link; false when there is none (it stays queued). */
  sendReport: (frame: ProcessedFrame) => boolean;
  metrics?: ConnectorMetrics;
  /** A test harness's stop just before a hook call (stop-points.ts). */
  stopPoints?: StopPoints;
}

export interface HookHold {
  reason: string;
  status: number;
  since: number;
}

export interface InboundStatus {
  format: HookFormatName;
  breaker: BreakerState;
  inFlight: number;
  lastError: { reason: string; at: number } | null;
  /** When the hook last took an item (the §6 health frame's `lastSuccessAt`). */
  lastSuccessAt: number | null;
  /** Set when the hook refused our credentials: no call is made until a restart with a fixed config. */
  held: HookHold | null;
}
