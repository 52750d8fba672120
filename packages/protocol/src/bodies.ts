import { z } from "zod";
import { PROTOCOL_LIMITS } from "./defaults.js";
import {
  agentIdSchema,
  conversationIdSchema,
  correlationIdSchema,
  idempotencyKeySchema,
  inReplyToSchema,
} from "./ids.js";

export const PRIORITIES = ["critical", "normal", "low"] as const;
export const prioritySchema = z.enum(PRIORITIES);
export type Priority = z.infer<typeof prioritySchema>;
/** Delivery order: lane first (lower rank first), then arrival. */
export const PRIORITY_RANK: Record<Priority, number> = { critical: 0, normal: 1, low: 2 };
/** A stored rank back to its lane name; a rank no writer makes (a damaged row) reads as `normal`. */
export function priorityOfRank(rank: number): Priority {
  return PRIORITIES[rank] ?? "normal";
}

export const notifySchema = z.array(z.enum(["delivered", "processed", "delayed"])).max(3);

/** A media type: type "/" subtype, optional parameters. */
const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;\s*[^\r\n]{0,200})?$/;

/** Send body, PROTOCOL.md §4. Only `payload` is required; unknown fields are refused. */
export const sendBodySchema = z.strictObject({
  payload: z.json(),
  priority: prioritySchema.optional(),
  ttlSeconds: z.number().int().min(1).max(PROTOCOL_LIMITS.maxTtlSeconds).optional(),
  notify: notifySchema.optional(),
  contentType: z.string().regex(MEDIA_TYPE, "contentType must be a media type").optional(),
  conversationId: conversationIdSchema.optional(),
  inReplyTo: inReplyToSchema.optional(),
});
export type SendBody = z.infer<typeof sendBodySchema>;

export const sendAnswerSchema = z.object({
  messageId: z.string(),
  correlationId: z.string(),
  status: z.literal("queued"),
  duplicate: z.boolean(),
  expiresAt: z.number().int(),
  queueDepth: z.number().int().nonnegative(),
});
export type SendAnswer = z.infer<typeof sendAnswerSchema>;

export const revocationBodySchema = z.union([
  z.strictObject({ jti: z.string().min(1).max(128), reason: z.string().max(500).optional() }),
  z.strictObject({ agentId: agentIdSchema, reason: z.string().max(500).optional() }),
]);
export type RevocationBody = z.infer<typeof revocationBodySchema>;

/**
 * `PUT /v1/admin/agents/{id}/registries` (an addition to PROTOCOL.md §4): exactly which trusted
 * registries (`iss`) may issue identity tokens for the id from now on. Without it an id belongs
 * to the registry whose token first made it known. Answered 200 with `agentRegistriesSchema`.
 */
export const agentRegistriesBodySchema = z.strictObject({
  registries: z.array(z.string().min(1).max(256)).min(1).max(16),
});
export type AgentRegistriesBody = z.infer<typeof agentRegistriesBodySchema>;
export const agentRegistriesSchema = z.object({ agentId: agentIdSchema, registries: z.array(z.string()) });
export type AgentRegistries = z.infer<typeof agentRegistriesSchema>;

export const peerRuleSchema = z.strictObject({
  allow: z.boolean().optional(),
  ratePerMinute: z.number().int().min(1).max(100_000).optional(),
  burst: z.number().int().min(1).max(100_000).optional(),
  senderShare: z.number().gt(0).max(1).optional(),
  ttlSeconds: z.number().int().min(1).max(PROTOCOL_LIMITS.maxTtlSeconds).optional(),
});
export type PeerRule = z.infer<typeof peerRuleSchema>;

/** `PUT /v1/agents/{id}/policy`, PROTOCOL.md §5. `ttlSeconds` in a rule caps the TTL a peer may ask for. */
export const policyBodySchema = z.strictObject({
  defaults: peerRuleSchema.optional(),
  peers: z.record(agentIdSchema, peerRuleSchema).optional(),
});
export type PolicyBody = z.infer<typeof policyBodySchema>;

/** The connector's loopback `POST /v1/outbound`, PROTOCOL.md §8. */
export const outboundBodySchema = z.strictObject({
  /** May be left out when `inReplyTo` names a message this connector received: it defaults to that sender. */
  to: agentIdSchema.optional(),
  toRelay: z.url().optional(),
  payload: z.json(),
  priority: prioritySchema.optional(),
  ttlSeconds: z.number().int().min(1).max(PROTOCOL_LIMITS.maxTtlSeconds).optional(),
  notify: notifySchema.optional(),
  correlationId: correlationIdSchema.optional(),
  idempotencyKey: idempotencyKeySchema.optional(),
  contentType: z.string().regex(MEDIA_TYPE).optional(),
  conversationId: conversationIdSchema.optional(),
  inReplyTo: inReplyToSchema.optional(),
});
export type OutboundBody = z.infer<typeof outboundBodySchema>;

/** Hook bodies the connector POSTs to the agent, PROTOCOL.md §8. */
export const HOOK_MESSAGE_TYPE = "clawrelay.message.v1";
export const HOOK_RECEIPT_TYPE = "clawrelay.receipt.v1";
