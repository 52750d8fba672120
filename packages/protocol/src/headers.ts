/** Header names of PROTOCOL.md §3 and §6, lower case as the Fetch API reports them. */
export const HEADERS = {
  authorization: "authorization",
  timestamp: "x-claw-timestamp",
  nonce: "x-claw-nonce",
  contentDigest: "content-digest",
  signature: "x-claw-signature",
  correlationId: "x-claw-correlation-id",
  idempotencyKey: "x-claw-idempotency-key",
  connectorId: "x-claw-connector-id",
  messageId: "x-claw-message-id",
  /** Connector loopback API only: the local OpenClaw session that sent an outbound message. */
  sessionKey: "x-claw-session-key",
  retryAfter: "retry-after",
  /** Signed hook calls (PROTOCOL.md §8, Standard Webhooks): the item id, the same on every retry. */
  webhookId: "webhook-id",
  /** Unix seconds of this call. */
  webhookTimestamp: "webhook-timestamp",
  /** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
  webhookSignature: "webhook-signature",
} as const;

/** A hook secret is `whsec_` and the base64 of its key bytes (Standard Webhooks). */
export const HOOK_SECRET_PREFIX = "whsec_";
export const HOOK_SIGNATURE_VERSION = "v1";

/** `Authorization: Claw <identity token>` */
export const AUTH_SCHEME = "Claw";
export const SIGNATURE_VERSION = "CLAW-SIG-V1";
export const TOKEN_TYPE = "agent+jwt";
export const RECEIPT_TOKEN_TYPE = "receipt+jwt";
