import { startApi } from "./api.js";
import { loadOrCreateApiToken } from "./api-token.js";
import { type Clock, type Random, systemClock, type TimerHandle } from "./clock.js";
import type { ConnectorConfig } from "./config.js";
import { type ConnectorSettings, groupConnectorConfig } from "./config-groups.js";
import { type ConnectorParts, type ConnectorStatus, connectorApiHandlers, connectorStatus } from "./daemon-api.js";
import { HealthReporter, readHealth } from "./health-report.js";
import { type FetchLike, systemFetch } from "./hook-client.js";
import { createHookFormat } from "./hook-formats/index.js";
import { signHookCalls } from "./hook-signing.js";
import { InboundWorker } from "./inbound.js";
import { inboxIntake } from "./inbox-intake.js";
import { RelayLink } from "./link.js";
import { LinkOutlet } from "./link-outlet.js";
import { createLogger, type Logger } from "./logger.js";
import { ConnectorMetrics } from "./metrics.js";
import { OutboundWorker } from "./outbound.js";
import { relayOriginOf } from "./outbound-message.js";
import { createIdentitySigner, type Signer } from "./signer.js";
import { noStopPoints, type StopPoints } from "./stop-points.js";
import { Store } from "./store.js";
import { TokenExpiryWatch } from "./token-expiry.js";

export type { ConnectorStatus } from "./daemon-api.js";

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

const DEFAULT_PRUNE_INTERVAL_MS = 3_600_000;

async function resolveSigner(
  settings: ConnectorSettings,
  deps: ConnectorDeps,
): Promise<{ signer: Signer; tokenExpiresAt: number | null }> {
  if (deps.signer) return { signer: deps.signer, tokenExpiresAt: deps.tokenExpiresAt ?? null };
  // Loaded only when no signer is injected, so embedding the daemon does not pull in the CLI's file layout.
  const { loadAgentIdentity } = await import("../cli/identity-files.js");
  const { dir } = settings.identity;
  const identity = await loadAgentIdentity(dir);
  if (identity.id !== settings.agentId) {
    throw new Error(`identity in ${dir} is for agent ${identity.id}, config says ${settings.agentId}`);
  }
  const signer = await createIdentitySigner({ token: identity.token, privateJwk: identity.privateJwk });
  return { signer, tokenExpiresAt: identity.claims.exp * 1000 };
}

/** Start the connector: store, relay link, hook and outbox workers, loopback API. */
export async function startConnector(config: ConnectorConfig, deps: ConnectorDeps = {}): Promise<RunningConnector> {
  // connector.json is flat (README.md); from here on each part is handed its group of it.
  const settings = groupConnectorConfig(config);
  const { agentId } = settings;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  // The default is `systemFetch`: hook calls made with it go over node:http (hook-client.ts).
  const fetchFn: FetchLike = deps.fetch ?? systemFetch;
  const logger = (deps.logger ?? createLogger(settings.logLevel)).child({ agentId });
  const { signer, tokenExpiresAt } = await resolveSigner(settings, deps);
  const tokenExpiry = new TokenExpiryWatch({
    expiresAt: tokenExpiresAt,
    warnBeforeMs: settings.identity.tokenExpiryWarnDays * 86_400_000,
    agentId,
    clock,
    logger,
  });
  const stopPoints = deps.stopPoints ?? noStopPoints;
  const apiToken = loadOrCreateApiToken(settings.dataDir, settings.api.token);

  const store = Store.open(settings.dataDir, {
    inboxMaxItems: settings.inbox.maxItems,
    outboxMaxItems: settings.outbox.maxItems,
    dedupWindowMs: settings.inbox.dedupWindowSeconds * 1000,
  });
  const startedAt = clock.now();
  store.outbox.recover(startedAt);
  store.prune(startedAt);
  store.markOffline(startedAt);
  const connectorId = store.connectorId(settings.connectorId);

  // Built in dependency order. The outlet comes first: the parts that send on the relay session
  // (reports, health) or follow its relay (the outbox) need only it, not the link; the link comes
  // last, fed by the inbox intake that wakes the inbound worker.
  const outlet = new LinkOutlet(deps.stopPoints ? (ids) => stopPoints.ackSent(ids) : undefined);
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
      createHookFormat(settings.hook.target, (id) => store.sessionKeyForMessage(id)),
      settings.hook.secret,
      () => clock.now(),
    ),
    delivery: settings.hook.delivery,
    sendReport: (frame) => outlet.send(frame),
    metrics,
    stopPoints,
  });
  const { relayUrls } = settings.link;
  const firstRelayUrl = relayUrls[0] as string;
  const trustedRelays = new Set([...relayUrls, ...settings.outbox.trustedRelays].map(relayOriginOf));
  const outbound = new OutboundWorker({
    store,
    clock,
    random,
    fetch: fetchFn,
    signer,
    logger,
    agentId,
    homeRelayUrl: () => outlet.relayUrl() ?? firstRelayUrl,
    isTrustedRelay: (origin) => trustedRelays.has(origin),
    config: settings.outbox,
    onLocalReceipt: () => inbound.wake(),
    metrics,
  });
  const link = new RelayLink({
    config: settings.link,
    outlet,
    agentId,
    connectorId,
    signer,
    clock,
    random,
    logger,
    resumeState: () => store.resumeState(),
    onDeliver: inboxIntake({ store, clock, logger, stopPoints, inbound }),
  });
  const health = new HealthReporter({
    clock,
    read: () => readHealth(inbound.status(), store, tokenExpiresAt),
    send: (frame) => outlet.send(frame),
  });
  link.on("connected", (ack) => {
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
  link.on("disconnected", ({ wasConnected }) => {
    health.disconnected();
    if (wasConnected && store.isOpen) store.markOffline(clock.now());
  });

  const parts: ConnectorParts = {
    agentId,
    connectorId,
    link,
    inbound,
    outbound,
    store,
    metrics,
    clock,
    logger,
    tokenExpiry,
    tokenExpiresAt,
  };
  const api = await startApi({
    host: settings.api.host,
    port: settings.api.port,
    maxBodyBytes: settings.api.maxBodyBytes,
    apiToken,
    logger,
    handlers: connectorApiHandlers(parts),
  }).catch((error: unknown) => {
    store.close();
    throw error;
  });

  let pruneTimer: TimerHandle | null = null;
  const schedulePrune = () => {
    pruneTimer = clock.setTimeout(() => {
      if (!store.isOpen) return;
      store.prune(clock.now());
      schedulePrune();
    }, deps.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS);
  };
  schedulePrune();

  link.start();
  tokenExpiry.start();
  inbound.wake();
  outbound.wake();
  logger.info({ event: "connector_started", connectorId, port: api.port, relayUrls }, "connector started");

  let closing: Promise<void> | null = null;
  return {
    port: api.port,
    connectorId,
    link,
    store,
    tokenExpiresAt,
    status: () => connectorStatus(parts),
    close: () => {
      closing ??= (async () => {
        pruneTimer?.cancel();
        tokenExpiry.stop();
        await api.close();
        health.disconnected();
        await link.stop();
        await Promise.all([inbound.stop(settings.shutdownGraceMs), outbound.stop(settings.shutdownGraceMs)]);
        store.markOffline(clock.now());
        store.close();
        logger.info({ event: "connector_stopped", connectorId }, "connector stopped");
      })();
      return closing;
    },
  };
}
