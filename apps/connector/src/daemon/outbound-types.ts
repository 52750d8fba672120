import type { Logger } from "pino";
import type { BreakerState } from "./breaker.js";
import type { Clock, Random } from "./clock.js";
import type { FetchLike } from "./hook-client.js";
import type { ConnectorMetrics } from "./metrics.js";
import type { Signer } from "./signer.js";
import type { Store } from "./store.js";
import type { EnqueueResult } from "./store-outbox.js";

/** How the outbox is drained: the outbox part of the config (config-groups.ts). */
export interface OutboundConfig {
  /** A message's lifetime when the agent gives no `ttlSeconds`. */
  defaultTtlSeconds: number;
  /** The bound on one POST to a relay. */
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  breakerFailures: number;
  breakerOpenMs: number;
  /** POSTs under way at once, over different streams. */
  concurrency: number;
}

export interface OutboundOptions {
  store: Store;
  clock: Clock;
  random: Random;
  fetch: FetchLike;
  signer: Signer;
  logger: Logger;
  agentId: string;
  /** Where messages without `toRelay` go: the relay of the live session, else the first configured one. */
  homeRelayUrl: () => string;
  /**
   * Whether a `toRelay` origin may be sent to: a signed request carries the identity token, so it
   * goes only to the configured relays and `trustedRelays`, never to any origin a caller names.
   */
  isTrustedRelay: (origin: string) => boolean;
  config: OutboundConfig;
  /** A local receipt was queued for the agent's receipt hook. */
  onLocalReceipt: () => void;
  metrics?: ConnectorMetrics;
}

/**
 * `enqueue`'s answer: the outbox's, or no recipient (no `to`, and `inReplyTo` names no received
 * message), or a `toRelay` this connector does not trust.
 */
export type OutboundEnqueueResult = EnqueueResult | { ok: false; reason: "no_recipient" | "untrusted_relay" };

export interface OutboundStatus {
  breakers: Record<string, BreakerState>;
  inFlight: number;
  lastError: { code: string; at: number } | null;
}
