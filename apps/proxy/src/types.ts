import type { RelayConfig } from "./config.js";

/** What the Worker learnt about the caller of a signed request, passed to the relay session by RPC. */
export interface SignedCaller {
  kind: "agent";
  agentId: string;
  /** The token's `relay` claim: the caller's home relay origin. */
  relay: string;
  jti: string;
  /** The identity token's `exp` (unix seconds): a connection outliving it is closed with 4003. */
  tokenExpiresAt: number;
  nonce: string;
  correlationId: string;
}
export interface AdminCaller {
  kind: "admin";
  correlationId: string;
}
export type Caller = SignedCaller | AdminCaller;

export type AppEnv = {
  Bindings: Env;
  Variables: {
    correlationId: string;
    /** Unix ms when the Worker received the request (first hop of a message's trace). */
    receivedAt: number;
    config: RelayConfig;
    /** Set by the signed-request middleware. */
    caller: SignedCaller;
    /** Set when the signed-request checks refused the request (counted by code outside the sessions). */
    refused: boolean;
    /** Exact request body bytes (already read under the cap), when the request had one. */
    body: Uint8Array | null;
  };
};
