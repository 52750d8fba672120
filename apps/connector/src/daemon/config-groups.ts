import type { ConnectorConfig } from "./config.js";
import type { HookTargetConfig } from "./hook-formats/index.js";
import type { HookDeliveryConfig } from "./inbound-types.js";
import type { LinkConfig } from "./link-types.js";
import type { OutboundConfig } from "./outbound-types.js";

/** The hook side: where items go (the format's target), how calls are retried, and the signing secret. */
export interface HookConfig {
  target: HookTargetConfig;
  delivery: HookDeliveryConfig;
  /** Signs every hook call (PROTOCOL.md §8); undefined leaves calls unsigned. */
  secret: string | undefined;
}

export interface InboxConfig {
  maxItems: number;
  dedupWindowSeconds: number;
}

export interface OutboxConfig extends OutboundConfig {
  maxItems: number;
  /** Relays a message may name as `toRelay` besides the link's own (PROTOCOL.md §8, SECURITY.md). */
  trustedRelays: readonly string[];
}

/** The loopback API: where it listens, its bearer token (made on first start when unset), its body bound. */
export interface ApiConfig {
  host: string;
  port: number;
  token: string | undefined;
  maxBodyBytes: number;
}

export interface IdentityConfig {
  dir: string;
  /** Days before the identity token's `exp` that the connector starts warning. */
  tokenExpiryWarnDays: number;
}

/** The connector's config grouped by the part that reads it; each part is handed its group as is. */
export interface ConnectorSettings {
  agentId: string;
  dataDir: string;
  /** Kept across restarts in the store when unset. */
  connectorId: string | undefined;
  logLevel: ConnectorConfig["logLevel"];
  /** How long calls in flight get to finish at shutdown, for the hook and the outbox alike. */
  shutdownGraceMs: number;
  identity: IdentityConfig;
  link: LinkConfig;
  hook: HookConfig;
  inbox: InboxConfig;
  outbox: OutboxConfig;
  api: ApiConfig;
}

/**
 * The one place the flat config (connector.json and its CLAWRELAY_* overrides, as README.md
 * documents them) becomes groups. The file stays flat; only the daemon's view of it is grouped.
 */
export function groupConnectorConfig(config: ConnectorConfig): ConnectorSettings {
  return {
    agentId: config.agentId,
    dataDir: config.dataDir,
    connectorId: config.connectorId,
    logLevel: config.logLevel,
    shutdownGraceMs: config.shutdownGraceMs,
    identity: { dir: config.identityDir, tokenExpiryWarnDays: config.tokenExpiryWarnDays },
    link: {
      relayUrls: config.relayUrls,
      takeover: config.takeover,
      connectTimeoutMs: config.connectTimeoutMs,
      reconnectMinMs: config.reconnectMinMs,
      reconnectMaxMs: config.reconnectMaxMs,
      reconnectResetAfterMs: config.reconnectResetAfterMs,
      reconnectFastMaxMs: config.reconnectFastMaxMs,
      reconnectFastWindowMs: config.reconnectFastWindowMs,
      reconnectFlapSessions: config.reconnectFlapSessions,
      pingIntervalMs: config.pingIntervalMs,
      pongTimeoutMs: config.pongTimeoutMs,
    },
    hook: {
      target: {
        format: config.hookFormat,
        url: config.hookUrl,
        receiptUrl: config.receiptHookUrl,
        token: config.hookToken,
        timeoutMs: config.hookTimeoutMs,
        openclaw: config.openclaw,
      },
      delivery: {
        maxAttempts: config.hookMaxAttempts,
        backoffBaseMs: config.hookBackoffBaseMs,
        backoffMaxMs: config.hookBackoffMaxMs,
        breakerFailures: config.hookBreakerFailures,
        breakerOpenMs: config.hookBreakerOpenMs,
        concurrency: config.hookConcurrency,
      },
      secret: config.hookSecret,
    },
    inbox: { maxItems: config.inboxMaxItems, dedupWindowSeconds: config.dedupWindowSeconds },
    outbox: {
      maxItems: config.outboxMaxItems,
      trustedRelays: config.trustedRelays,
      defaultTtlSeconds: config.defaultTtlSeconds,
      timeoutMs: config.relayTimeoutMs,
      concurrency: config.outboxConcurrency,
      backoffBaseMs: config.outboxBackoffBaseMs,
      backoffMaxMs: config.outboxBackoffMaxMs,
      breakerFailures: config.outboxBreakerFailures,
      breakerOpenMs: config.outboxBreakerOpenMs,
    },
    api: {
      host: config.listen.host,
      port: config.listen.port,
      token: config.apiToken,
      maxBodyBytes: config.apiMaxBodyBytes,
    },
  };
}
