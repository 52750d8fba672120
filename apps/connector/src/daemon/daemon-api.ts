import { priorityOfRank } from "@clawrelay/protocol";
import type { Logger } from "pino";
import type { ApiHandlers } from "./api.js";
import type { Clock } from "./clock.js";
import { CONNECTOR_VERSION } from "./health-report.js";
import type { InboundWorker } from "./inbound.js";
import type { RelayLink } from "./link.js";
import type { ConnectorMetrics } from "./metrics.js";
import { renderConnectorMetrics } from "./metrics-prometheus.js";
import type { OutboundWorker } from "./outbound.js";
import type { Store } from "./store.js";
import type { TokenExpiryWatch } from "./token-expiry.js";

/** The running parts the loopback API and the status read from; the daemon builds them. */
export interface ConnectorParts {
  agentId: string;
  connectorId: string;
  link: RelayLink;
  inbound: InboundWorker;
  outbound: OutboundWorker;
  store: Store;
  metrics: ConnectorMetrics;
  clock: Clock;
  logger: Logger;
  tokenExpiry: TokenExpiryWatch;
  /** The identity token's `exp` in ms (null when unknown). */
  tokenExpiresAt: number | null;
}

export type ConnectorStatus = ReturnType<typeof connectorStatus>;

/** `GET /v1/status`: the link, the hook, the breakers, the counts and the last errors. */
export function connectorStatus(parts: ConnectorParts) {
  const { link, inbound, outbound, store, metrics } = parts;
  const linkStatus = link.status();
  const inboundStatus = inbound.status();
  const outboundStatus = outbound.status();
  return {
    agentId: parts.agentId,
    connectorId: parts.connectorId,
    link: linkStatus,
    hook: {
      format: inboundStatus.format,
      state: inboundStatus.held ? "held" : "delivering",
      ...(inboundStatus.held ? { held: inboundStatus.held } : {}),
    },
    breakers: { hook: inboundStatus.breaker, outbound: outboundStatus.breakers },
    inFlight: { hook: inboundStatus.inFlight, outbound: outboundStatus.inFlight },
    counts: store.counts(),
    identity: parts.tokenExpiry.status(),
    metrics: metrics.view(parts.clock.now(), store.oldestPending()),
    lastError: {
      link: linkStatus.lastError,
      hook: inboundStatus.lastError,
      outbound: outboundStatus.lastError,
    },
  };
}

/** `GET /v1/outbound/:id`: the outbox record with its lane's name, receipts and trace. */
function outboundView(store: Store, outboundId: string) {
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
}

/** What each loopback API route does (api.ts serves them). */
export function connectorApiHandlers(parts: ConnectorParts): ApiHandlers {
  const { agentId, connectorId, link, inbound, outbound, store, metrics, clock, logger } = parts;
  return {
    enqueue: (body, context) => outbound.enqueue(body, context),
    outbound: (outboundId) => outboundView(store, outboundId),
    status: () => connectorStatus(parts),
    health: () => ({
      status: link.status().state === "credentials_rejected" || inbound.status().held !== null ? "degraded" : "ok",
      agentId,
      link: link.status().state,
    }),
    metrics: () => {
      const hook = inbound.status();
      return renderConnectorMetrics({
        now: clock.now(),
        version: CONNECTOR_VERSION,
        agentId,
        connectorId,
        metrics: metrics.snapshot(),
        link: link.status(),
        hook: { breaker: hook.breaker, held: hook.held !== null },
        outboundBreakers: outbound.status().breakers,
        counts: store.counts(),
        oldest: store.oldestPending(),
        tokenExpiresAt: parts.tokenExpiresAt,
      });
    },
    deadLetters: (limit) => store.inbox.listDeadLetters(limit),
    trace: (id) => {
      const found = store.trace.lookup(id);
      if (!found) return undefined;
      const linkStatus = link.status();
      return {
        query: id,
        agentId,
        connectorId,
        link: { state: linkStatus.state, relayUrl: linkStatus.relayUrl },
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
  };
}
