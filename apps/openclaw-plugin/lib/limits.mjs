// The limits and patterns the plugin checks before it sends (PROTOCOL.md §2, §4, §8). The plugin
// has no dependencies (OpenClaw loads the folder as it is, with its own Node), so these are
// copies of packages/protocol's; test/plugin.test.ts fails when a copy drifts from the original.

/** An agent id: AGENT_ID_PATTERN. */
export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{2,63}$/;
/** `inReplyTo` and `conversationId`: CORRELATION_ID_PATTERN. */
export const MESSAGE_REF_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/;
/** What `X-Claw-Session-Key` may carry: SESSION_KEY_PATTERN. */
export const SESSION_KEY_PATTERN = /^[A-Za-z0-9:._-]{1,256}$/;
/** The header that tells the connector which OpenClaw session sent: HEADERS.sessionKey. */
export const SESSION_KEY_HEADER = "x-claw-session-key";
/** PROTOCOL_LIMITS.maxTtlSeconds (7 days). */
export const MAX_TTL_SECONDS = 604_800;
/** RELAY_DEFAULTS.RELAY_MAX_BODY_BYTES (256 KiB): a bigger payload can never be sent. */
export const MAX_PAYLOAD_BYTES = 262_144;
/** PRIORITIES, most urgent first. */
export const PRIORITIES = ["critical", "normal", "low"];
/** The receipts a sender may ask for (notifySchema); failures are always reported. */
export const NOTIFY_KINDS = ["delivered", "processed", "delayed"];
/** CONNECTOR_DEFAULTS.listenHost and listenPort. */
export const DEFAULT_CONNECTOR_URL = "http://127.0.0.1:19400";
/** The connector's `GET /v1/outbound/{outboundId}` path segment. */
export const OUTBOUND_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** A token the connector takes (its `apiToken` config field). */
export const API_TOKEN_PATTERN = /^[\x21-\x7e]{16,512}$/;
export const DEFAULT_TIMEOUT_MS = 10_000;
