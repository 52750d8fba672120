import type { Priority } from "@clawrelay/protocol";
import fc from "fast-check";
import type { PeerRule } from "./reference.js";

/** Which ids an ack or nack names: everything in flight, or items picked by index (any state), plus maybe an unknown id. */
export type Target = { kind: "inflight" } | { kind: "items"; indices: number[]; unknown: boolean };

export type Op =
  | {
      type: "send";
      sender: number;
      priority: Priority | null;
      ttlSeconds: number | null;
      padding: number;
      n: number;
      key: number | null;
      /** Sent this many times in a row, `n` counting up (bursts fill queues and buckets). */
      count: number;
      /** §4 conversation fields, or none (then the deliver item must have neither key). */
      conversation: { conversationId: string; inReplyTo: string | null } | null;
    }
  /** The same request again (same sender, body bytes and idempotency key) as an earlier send. */
  | { type: "resend"; index: number }
  | { type: "ack"; target: Target }
  /** Repeated `times` over, each time naming what is then in flight (repeated nacks open the breaker). */
  | { type: "nack"; target: Target; retryAfterMs: number | null; times: number }
  | { type: "advance"; ms: number }
  | { type: "disconnect" }
  | {
      type: "connect";
      lastReceived: "none" | "last-delivered" | "item" | "unknown";
      index: number;
      offline: "none" | "since-disconnect" | "since-start";
      /** When a socket is already open: replace it as the same connector, or take over as another. */
      takeover: boolean;
      /** The new active connector never pings (a machine gone to sleep, §6). */
      sleepy: boolean;
    }
  /** Another connector joins as a standby (while one is active and no standby is). */
  | { type: "standby" };

export const SENDERS = 3;
export const IDEMPOTENCY_KEYS = ["model-key-aaaa", "model-key-bbbb"] as const;

/** Per-run policy: sender 1 may get a tight rate, sender 2 a block, a small share or a TTL cap. */
export interface PolicySpec {
  rate: { ratePerMinute: number; burst: number } | null;
  second: { allow: boolean | null; shareItems: number | null; ttlSeconds: number | null } | null;
}

export function policyRules(spec: PolicySpec, maxItems: number): Record<number, PeerRule> {
  const rules: Record<number, PeerRule> = {};
  if (spec.rate) rules[1] = { ...spec.rate };
  if (spec.second) {
    const rule: PeerRule = {};
    if (spec.second.allow !== null) rule.allow = spec.second.allow;
    // Half an item of slack so the share is a whole number of items whatever the float rounding.
    if (spec.second.shareItems !== null) rule.senderShare = (spec.second.shareItems + 0.5) / maxItems;
    if (spec.second.ttlSeconds !== null) rule.ttlSeconds = spec.second.ttlSeconds;
    rules[2] = rule;
  }
  return rules;
}

const target: fc.Arbitrary<Target> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "inflight" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("items" as const),
      indices: fc.array(fc.nat(20), { minLength: 0, maxLength: 3 }),
      unknown: fc.boolean(),
    }),
  },
);

const ttl = fc.oneof(
  fc.constant(null),
  fc.constantFrom(1, 5, 30, 60, 3600, 86_400, 604_800),
  fc.integer({ min: 1, max: 300 }),
);

/** Mostly once; sometimes a burst or a run of nacks long enough to open the breaker. */
const repeat = fc.oneof(
  { weight: 4, arbitrary: fc.constant(1) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 6 }) },
);

/** Clock steps around the interesting boundaries: ack timeout, backoff, breaker, TTLs, idempotency and retention. */
const step = fc.oneof(
  fc.constantFrom(1000, 5000, 29_999, 30_000, 31_000, 60_000, 600_000, 3_600_000, 21_600_000, 86_400_000),
  fc.integer({ min: 1, max: 120_000 }),
);

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant("send" as const),
      sender: fc.nat(SENDERS - 1),
      priority: fc.constantFrom<Priority | null>(null, "critical", "normal", "low"),
      ttlSeconds: ttl,
      // Big paddings reach the 4096-byte cap of the caps project in two or three sends.
      padding: fc.constantFrom(0, 0, 0, 300, 900, 1300, 1800, 1800, 4200),
      n: fc.nat(3),
      key: fc.option(fc.nat(IDEMPOTENCY_KEYS.length - 1), { freq: 3 }),
      count: repeat,
      conversation: fc.option(
        fc.record({
          conversationId: fc.constantFrom("conv-model-aaaa", "conv:model.b_b-b"),
          inReplyTo: fc.option(fc.constantFrom("01JMODELREPLY000000000000A", "corr-model-reply")),
        }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("resend" as const), index: fc.nat(20) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("ack" as const), target }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("nack" as const),
      target,
      retryAfterMs: fc.oneof(fc.constant(null), fc.constant(0), fc.integer({ min: 1, max: 90_000 })),
      times: repeat,
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant("advance" as const), ms: step }) },
  { weight: 1, arbitrary: fc.constant({ type: "disconnect" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("connect" as const),
      lastReceived: fc.constantFrom("none", "last-delivered", "item", "unknown"),
      index: fc.nat(20),
      offline: fc.constantFrom("none", "since-disconnect", "since-start"),
      takeover: fc.boolean(),
      sleepy: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: "standby" as const }) },
);

export const policyArbitrary: fc.Arbitrary<PolicySpec> = fc.record({
  rate: fc.option(
    fc.record({ ratePerMinute: fc.integer({ min: 1, max: 120 }), burst: fc.integer({ min: 1, max: 3 }) }),
  ),
  second: fc.option(
    fc.record({
      allow: fc.option(fc.boolean()),
      shareItems: fc.option(fc.integer({ min: 1, max: 4 })),
      ttlSeconds: fc.option(fc.integer({ min: 1, max: 600 })),
    }),
  ),
});

export const scenarioArbitrary = fc.record({
  policy: policyArbitrary,
  ops: fc.array(opArbitrary, { minLength: 1, maxLength: 16 }),
});
export type Scenario = { policy: PolicySpec; ops: Op[] };
