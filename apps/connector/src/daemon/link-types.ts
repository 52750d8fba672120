import type { DeliverItem, ReconnectAckFrame, RelayFrame } from "@clawrelay/protocol";
import type { Logger } from "pino";
import type { Clock, Random } from "./clock.js";
import type { LinkOutlet } from "./link-outlet.js";
import type { ReconnectTiming } from "./link-policy.js";
import type { Signer } from "./signer.js";
import type { ResumeState } from "./store.js";

export type LinkState =
  | "idle"
  | "connecting"
  | "handshaking"
  | "connected"
  | "backoff"
  | "credentials_rejected"
  | "closed";
export type Role = "active" | "standby";

export interface LinkTiming extends ReconnectTiming {
  pingIntervalMs: number;
  pongTimeoutMs: number;
  connectTimeoutMs: number;
}

export interface DeliverOutcome {
  ack: readonly string[];
  nackInboxFull: readonly string[];
}

/** The link's part of the config (config-groups.ts): the relays in order, the takeover flag, the timing. */
export interface LinkConfig extends LinkTiming {
  relayUrls: readonly string[];
  takeover: boolean;
}

export interface LinkOptions {
  config: LinkConfig;
  /**
   * Where the link writes its frames and hands over the live session, for the parts that send
   * without holding the link (link-outlet.ts); a fresh one when absent.
   */
  outlet?: LinkOutlet;
  agentId: string;
  connectorId: string;
  signer: Signer;
  clock: Clock;
  random: Random;
  logger: Logger;
  resumeState: () => ResumeState;
  /** Must commit the items before returning; throwing means nothing was stored and nothing is acked. */
  onDeliver: (items: DeliverItem[]) => DeliverOutcome;
}

export interface LinkStatus {
  state: LinkState;
  role: Role | null;
  relayUrl: string | null;
  sessionId: string | null;
  connectedSince: number | null;
  reconnectAttempt: number;
  lastError: string | null;
}

export type LinkEvents = {
  state: [LinkState];
  role: [Role, string];
  connected: [ReconnectAckFrame];
  disconnected: [{ code: number; reason: string; wasConnected: boolean }];
  reconnect_scheduled: [{ delayMs: number; relayUrl: string; attempt: number; restartWindow: boolean }];
  attempt: [{ relayUrl: string }];
  pong: [];
  frame: [RelayFrame];
  stopped: [{ reason: string }];
};
