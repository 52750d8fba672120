import { expect } from "vitest";
import { z } from "zod";
import type { LocalRelay } from "../../../../scripts/lib/relay.mjs";
import { type Answer, type Identity, loadIdentity } from "../support/relay-client.js";

const statusSchema = z.object({ queue: z.object({ items: z.number() }) });

/**
 * What the bad-input tests share: one running relay, its agents, and every message it accepted
 * for bob (the last test checks that each one still arrives after all the abuse).
 */
export class BadInputContext {
  relay!: LocalRelay;
  /** A relay origin in TRUSTED_RELAYS whose JWKS URL nothing answers. */
  deadRelay = "";
  readonly acceptedForBob: string[] = [];
  private readonly agents = new Map<string, Identity>();

  agent(id: string): Identity {
    let identity = this.agents.get(id);
    if (!identity) {
      identity = loadIdentity(this.relay.agent(id), id);
      this.agents.set(id, identity);
    }
    return identity;
  }

  alice(): Identity {
    return this.agent("alice-bad");
  }

  bob(): Identity {
    return this.agent("bob-bad");
  }

  /**
   * Bob's queue (queued and in flight) holds exactly what the relay accepted for him: no refused
   * request, bad frame or bad header took anything away (or slipped anything in).
   */
  async expectNothingLost(): Promise<void> {
    const res = await this.relay.admin("GET", `/v1/agents/${this.bob().id}/status`);
    const { queue } = statusSchema.parse(await res.json());
    expect(queue.items, "bob's queue against the messages the relay accepted for him").toBe(this.acceptedForBob.length);
  }

  /** A 202 for bob: remember its message id. */
  async acceptForBob(answer: Answer): Promise<string> {
    expect(answer.status, JSON.stringify(answer.json)).toBe(202);
    const messageId = (answer.json as { messageId: string }).messageId;
    this.acceptedForBob.push(messageId);
    return messageId;
  }
}

/** The status table of PROTOCOL.md §4, word for word: every one of these must be reached. */
export const SECTION_4_CODES: Readonly<Record<number, readonly string[]>> = {
  400: ["invalid_request", "invalid_json", "digest_mismatch"],
  401: [
    "missing_credentials",
    "invalid_token",
    "token_expired",
    "revoked",
    "timestamp_skew",
    "invalid_signature",
    "replayed_nonce",
  ],
  403: ["sender_blocked", "not_owner"],
  404: ["unknown_recipient", "not_found"],
  409: ["idempotency_key_reused"],
  413: ["payload_too_large"],
  415: ["unsupported_media_type"],
  429: ["rate_limited"],
  503: ["unavailable"],
  507: ["queue_full"],
};

/** `status code` pairs that `expectError` has seen answered. */
export const reachedCodes = new Set<string>();

/** The §4 error shape: status, code, a correlation id, a message, Retry-After where due, never a stack. */
export function expectError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.code }, JSON.stringify(answer.json)).toEqual({ status, code });
  reachedCodes.add(`${status} ${code}`);
  const error = (answer.json as { error: { message: unknown; correlationId: unknown; retryAfterSeconds?: number } })
    .error;
  expect(error.message).toBeTypeOf("string");
  expect(error.correlationId).toMatch(/^[A-Za-z0-9._:-]{8,128}$/);
  expect(answer.headers.get("x-claw-correlation-id")).toBe(error.correlationId);
  expect(JSON.stringify(answer.json)).not.toMatch(/\bat .+:\d+:\d+|\.ts\b/);
  if ([429, 503, 507].includes(status)) {
    const retryAfter = Number(answer.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(error.retryAfterSeconds).toBe(retryAfter);
  }
}
