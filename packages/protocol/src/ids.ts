import { z } from "zod";

export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{2,63}$/;
export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/;
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{8,255}$/;
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
export const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;
export const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{86}$/;
export const CONTENT_DIGEST_PATTERN = /^sha-256=:[A-Za-z0-9+/]{43}=:$/;
/** `X-Claw-Session-Key` on the connector's `POST /v1/outbound`: an OpenClaw session key. */
export const SESSION_KEY_PATTERN = /^[A-Za-z0-9:._-]{1,256}$/;

export const agentIdSchema = z.string().regex(AGENT_ID_PATTERN, "agent id must match ^[a-z0-9][a-z0-9._-]{2,63}$");
export const correlationIdSchema = z.string().regex(CORRELATION_ID_PATTERN);
export const idempotencyKeySchema = z.string().regex(IDEMPOTENCY_KEY_PATTERN);
/** `conversationId` and `inReplyTo` (PROTOCOL.md §4): the same shape as a correlation id. */
export const conversationIdSchema = z
  .string()
  .regex(CORRELATION_ID_PATTERN, "conversationId must match ^[A-Za-z0-9._:-]{8,128}$");
export const inReplyToSchema = z
  .string()
  .regex(CORRELATION_ID_PATTERN, "inReplyTo must match ^[A-Za-z0-9._:-]{8,128}$");

export function isAgentId(value: string): boolean {
  return AGENT_ID_PATTERN.test(value);
}
export function isCorrelationId(value: string): boolean {
  return CORRELATION_ID_PATTERN.test(value);
}
