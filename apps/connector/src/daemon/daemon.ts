import { priorityOfRank } from "@clawrelay/protocol";
import { type ApiServer, startApi } from "./api.js";
import { loadOrCreateApiToken } from "./api-token.js";
import { type Clock, type Random, systemClock, type TimerHandle } from "./clock.js";
import type { ConnectorConfig } from "./config.js";
import { CONNECTOR_VERSION, HealthReporter, readHealth } from "./health-report.js";
import type { FetchLike } from "./hook-client.js";
import { createHookFormat } from "./hook-formats/index.js";
import { signHookCalls } from "./hook-signing.js";
import { InboundWorker } from "./inbound.js";
import { RelayLink } from "./link.js";
import { createLogger, type Logger } from "./logger.js";
import { ConnectorMetrics } from "./metrics.js";
import { renderConnectorMetrics } from "./metrics-prometheus.js";
import { OutboundWorker, relayOriginOf } from "./outbound.js";
import { createIdentitySigner, type Signer } from "./signer.js";
import { noStopPoints, type StopPoints } from "./stop-points.js";
import { Store } from "./store.js";
import { type TokenExpiryStatus, TokenExpiryWatch } from "./token-expiry.js";

export interface ConnectorDeps {
  clock?: Clock;
  random?: Random;
  fetch?: FetchLike;
  logger?: Logger;
  /** Skip loading the identity from `identityDir` and sign with this instead. */
  signer?: Signer;
  /** With `signer`: its token's `exp` in ms, for the expiry warning (unknown otherwise). */
  tokenExpiresAt?: number;
  /** How often finished rows and old dedup ids are pruned. */
  pruneIntervalMs?: number;
  /** A test harness's stops at fixed points of the inbound path (stop-points.ts); none by default. */
  stopPoints?: StopPoints;
}

export interface RunningConnector {
  port: number;
  connectorId: string;
  link: RelayLink;
  store: Store;
  /** The identity token's `exp` in ms (null when unknown), for the §6 health frame. */
  tokenExpiresAt: number | null;
  status(): ConnectorStatus;
  close(): Promise<void>;
}

export type ConnectorStatus = ReturnType<typeof buildStatus>;

const DEFAULT_PRUNE_INTERVAL_MS = 3_600_000;

function buildStatus(
  config: ConnectorConfig,
  connectorId: string,
  link: RelayLink,
  inbound: InboundWorker,
  outbound: OutboundWorker,
  store: Store,
  metrics: ConnectorMetrics,
  now: number,
  identity: TokenExpiryStatus,
) {
  const linkStatus = link.status();
  const inboundStatus = inbound.status();
  const outboundStatus = outbound.status();
  return {
    agentId: config.agentId,
    connectorId,
    link: linkStatus,
    hook: {
      format: inboundStatus.format,
      state: inboundStatus.held ? "held" : "delivering",
      ...(inboundStatus.held ? { held: inboundStatus.held } : {}),
    },
    breakers: { hook: inboundStatus.breaker, outbound: outboundStatus.breakers },
    inFlight: { hook: inboundStatus.inFlight, outbound: outboundStatus.inFlight },
    counts: store.counts(),
    identity,
    metrics: metrics.view(now, store.oldestPending()),
    lastError: {
      link: linkStatus.lastError,
      hook: inboundStatus.lastError,
      outbound: outboundStatus.lastError,
    },
  };
}

async function resolveSigner(
  config: ConnectorConfig,
  deps: ConnectorDeps,
): Promise<{ signer: Signer; tokenExpiresAt: number | null }> {
  if (deps.signer) return { signer: deps.signer, tokenExpiresAt: deps.tokenExpiresAt ?? null };
  // Loaded only when no signer is injected, so embedding the daemon does not pull in the CLI's file layout.
  const { loadAgentIdentity } = await import("../cli/identity-files.js");
  const identity = await loadAgentIdentity(config.identityDir);
  if (identity.id !== config.agentId) {
    throw new Error(`identity in ${config.identityDir} is for agent ${identity.id}, config says ${config.agentId}`);
  }
  const signer = await createIdentitySigner({ token: identity.token, privateJwk: identity.privateJwk });
  return { signer, tokenExpiresAt: identity.claims.exp * 1000 };
}

/** Start the connector: store, relay link, hook and outbox workers, loopback API. */
export async function startConnector(config: ConnectorConfig, deps: ConnectorDeps = {}): Promise<RunningConnector> {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const fetchFn: FetchLike = deps.fetch ?? ((input, init) => fetch(input, init));
  const logger = (deps.logger ?? createLogger(config.logLevel)).child({ agentId: config.agentId });
  const { signer, tokenExpiresAt } = await resolveSigner(config, deps);
  const tokenExpiry = new TokenExpiryWatch({
    expiresAt: tokenExpiresAt,
    warnBeforeMs: config.tokenExpiryWarnDays * 86_400_000,
    agentId: config.agentId,
    clock,
    logger,
  });
  const stopPoints = deps.stopPoints ?? noStopPoints;
  const apiToken = loadOrCreateApiToken(config.dataDir, config.apiToken);

  const store = Store.open(config.dataDir, {
    inboxMaxItems: config.inboxMaxItems,
    outboxMaxItems: config.outboxMaxItems,
    dedupWindowMs: config.dedupWindowSeconds * 1000,
  });
  const startedAt = clock.now();
  store.outbox.recover(startedAt);
  store.prune(startedAt);
  store.markOffline(startedAt);
  const connectorId = store.connectorId(config.connectorId);

  let link: RelayLink | undefined;
  const metrics = new ConnectorMetrics(startedAt);
  const inbound = new InboundWorker({
    store,
    clock,
    random,
    fetch: fetchFn,
    logger,
    // A reply, or a receipt, goes back into the OpenClaw session its original was sent from;
    // with a hookSecret every call is signed (PROTOCOL.md §8).
    format: signHookCalls(
      createHookFormat(config, (id) => store.sessionKeyForMessage(id)),
      config.hookSecret,
      () => clock.now(),
    ),
    maxAttempts: config.hookMaxAttempts,
    backoffBaseMs: config.hookBackoffBaseMs,
    backoffMaxMs: config.hookBackoffMaxMs,
    breakerFailures: config.hookBreakerFailures,
    breakerOpenMs: config.hookBreakerOpenMs,
    concurrency: config.hookConcurrency,
    sendReport: (frame) => link?.send(frame) ?? false,
    metrics,
    stopPoints,
  });
  const firstRelayUrl = config.relayUrls[0] as string;
  const trustedRelays = new Set([...config.relayUrls, ...config.trustedRelays].map(relayOriginOf));
  const outbound = new OutboundWorker({
    store,
    clock,
    random,
    fetch: fetchFn,
    signer,
    logger,
    agentId: config.agentId,
    homeRelayUrl: () => link?.connectedRelayUrl() ?? firstRelayUrl,
    isTrustedRelay: (origin) => trustedRelays.has(origin),
    defaultTtlSeconds: config.defaultTtlSeconds,
    timeoutMs: config.relayTimeoutMs,
    backoffBaseMs: config.outboxBackoffBaseMs,
    backoffMaxMs: config.outboxBackoffMaxMs,
    breakerFailures: config.outboxBreakerFailures,
    breakerOpenMs: config.outboxBreakerOpenMs,
    concurrency: config.outboxConcurrency,
    onLocalReceipt: () => inbound.wake(),
    metrics,
  });
  const relayLink = new RelayLink({
    ...(deps.stopPoints ? { onAckSent: (ids: readonly string[]) => stopPoints.ackSent(ids) } : {}),
    agentId: config.agentId,
    relayUrls: config.relayUrls,
    connectorId,
    takeover: config.takeover,
    signer,
    clock,
    random,
    logger,
    timing: config,
    resumeState: () => store.resumeState(),
    onDeliver: (items) => {
      stopPoints.reached("before_commit", items, () => inbound.hookCallsInFlight());
      const result = store.storeInbound(items, clock.now());
      stopPoints.reached("after_commit", items, () => inbound.hookCallsInFlight());
      for (const item of result.stored) {
        if (item.kind === "message") {
          logger.info(
            { event: "inbound_stored", correlationId: item.correlationId, messageId: item.id, from: item.from },
            "message stored in the inbox",
          );
        } else {
          const { receipt } = item;
          logger.info(
            {
              event: "receipt_received",
              correlationId: receipt.correlationId,
              messageId: receipt.messageId,
              status: receipt.status,
            },
            "receipt stored in the inbox",
          );
        }
      }
      if (result.duplicates.length > 0) {
        logger.info({ event: "inbound_duplicate", ids: result.duplicates }, "already stored; acked again");
      }
      if (result.nackInboxFull.length > 0) {
        logger.warn({ event: "inbox_full", count: result.nackInboxFull.length }, "inbox full; nacking");
      }
      if (result.stored.length > 0) queueMicrotask(() => inbound.wake());
      return result;
    },
  });
  link = relayLink;
  const health = new HealthReporter({
    clock,
    read: () => readHealth(inbound.status(), store, tokenExpiresAt),
    send: (frame) => relayLink.send(frame),
  });
  relayLink.on("connected", (ack) => {
    metrics.linkConnected();
    store.markOnline();
    for (const expired of ack.expired) {
      logger.warn(
        { event: "expired_while_offline", messageId: expired.id, correlationId: expired.correlationId },
        "a message for this agent expired at the relay while the connector was offline",
      );
    }
    inbound.flushReports();
    outbound.wake();
    health.connected();
  });
  relayLink.on("disconnected", ({ wasConnected }) => {
    health.disconnected();
    if (wasConnected && store.isOpen) store.markOffline(clock.now());
  });

  let api: ApiServer;
  try {
    api = await startApi({
      host: config.listen.host,
      port: config.listen.port,
      maxBodyBytes: config.apiMaxBodyBytes,
      apiToken,
      logger,
      handlers: {
        enqueue: (body, context) => outbound.enqueue(body, context),
        outbound: (outboundId) => {
          const record = store.outbox.get(outboundId);
          if (!record) return undefined;
          return {
            outboundId: record.outboundId,
            to: record.to,
            toRelay: record.toRelay,
            correlationId: record.correlationId,
            idempotencyKey: record.idempotencyKey,
            priority: priorityOfRank(record.priorityRank),
            state: record.state,
            attempts: record.attempts,
            messageId: record.messageId,
            lastError: record.lastError,
            conversationId: record.conversationId,
            inReplyTo: record.inReplyTo,
            sessionKey: record.sessionKey,
            createdAt: record.createdAt,
            updatedAt: record.updatedAt,
            expiresAt: record.expiresAt,
            receipts: store.outbox.receiptsFor(record),
            trace: store.outbox.traceFor(record),
          };
        },
        status: () =>
          buildStatus(
            config,
            connectorId,
            relayLink,
            inbound,
            outbound,
            store,
            metrics,
            clock.now(),
            tokenExpiry.status(),
          ),
        health: () => ({
          status:
            relayLink.status().state === "credentials_rejected" || inbound.status().held !== null ? "degraded" : "ok",
          agentId: config.agentId,
          link: relayLink.status().state,
        }),
        metrics: () => {
          const hook = inbound.status();
          return renderConnectorMetrics({
            now: clock.now(),
            version: CONNECTOR_VERSION,
            agentId: config.agentId,
            connectorId,
            metrics: metrics.snapshot(),
            link: relayLink.status(),
            hook: { breaker: hook.breaker, held: hook.held !== null },
            outboundBreakers: outbound.status().breakers,
            counts: store.counts(),
            oldest: store.oldestPending(),
            tokenExpiresAt,
          });
        },
        deadLetters: (limit) => store.inbox.listDeadLetters(limit),
        trace: (id) => {
          const found = store.trace.lookup(id);
          if (!found) return undefined;
          const link = relayLink.status();
          return {
            query: id,
            agentId: config.agentId,
            connectorId,
            link: { state: link.state, relayUrl: link.relayUrl },
            hookBreaker: inbound.status().breaker,
            ...found,
          };
        },
        replay: (ids) => {
          const replayed = store.inbox.replayDeadLetters(ids, clock.now());
          // Asked for again on purpose: delivered even when past the deadline that dead-lettered them.
          if (replayed.length > 0) inbound.replayed(replayed);
          logger.info({ event: "dead_letters_replayed", count: replayed.length }, "dead letters replayed");
          return replayed;
        },
      },
    });
  } catch (error) {
    store.close();
    throw error;
  }

  let pruneTimer: TimerHandle | null = null;
  const schedulePrune = () => {
    pruneTimer = clock.setTimeout(() => {
      if (!store.isOpen) return;
      store.prune(clock.now());
      schedulePrune();
    }, deps.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS);
  };
  schedulePrune();

  relayLink.start();
  tokenExpiry.start();
  inbound.wake();
  outbound.wake();
  logger.info(
    { event: "connector_started", connectorId, port: api.port, relayUrls: config.relayUrls },
    "connector started",
  );

  let closing: Promise<void> | null = null;
  return {
    port: api.port,
    connectorId,
    link: relayLink,
    store,
    tokenExpiresAt,
    status: () =>
      buildStatus(config, connectorId, relayLink, inbound, outbound, store, metrics, clock.now(), tokenExpiry.status()),
    close: () => {
      closing ??= (async () => {
        pruneTimer?.cancel();
        tokenExpiry.stop();
        await api.close();
        health.disconnected();
        await relayLink.stop();
        await Promise.all([inbound.stop(config.shutdownGraceMs), outbound.stop(config.shutdownGraceMs)]);
        store.markOffline(clock.now());
        store.close();
        logger.info({ event: "connector_stopped", connectorId }, "connector stopped");
      })();
      return closing;
    },
  };
}
