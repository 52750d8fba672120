import type { RelayConfig } from "../config.js";
import type { Capacity } from "./capacity.js";
import type { Meta } from "./meta.js";
import type { SessionMetrics } from "./metrics.js";
import type { Sql } from "./sql.js";

/** What every session module works with; built once per DO instance. */
export interface SessionContext {
  readonly sql: Sql;
  readonly meta: Meta;
  readonly config: RelayConfig;
  readonly capacity: Capacity;
  readonly metrics: SessionMetrics;
  readonly state: DurableObjectState;
  readonly env: Env;
  agentId(): string;
  /** Ask for the alarm to be brought forward to `at` if it is later (or unset). */
  wakeAt(at: number): void;
  /** Start flushing the receipt outbox in the background. */
  flushReceipts(): void;
}
