import type { Op, Scenario } from "./ops.js";

/**
 * Hand-written scenarios run before the random ones: sequences too long or too specific for the
 * generator to find often, each a rule of PROTOCOL.md §5–6 (and a regression test for a bug the
 * model found).
 */
const noPolicy = { rate: null, second: null };
const connect = (over: Partial<Extract<Op, { type: "connect" }>> = {}): Op => ({
  type: "connect",
  lastReceived: "none",
  index: 0,
  offline: "none",
  takeover: false,
  sleepy: false,
  ...over,
});
const send = (over: Partial<Extract<Op, { type: "send" }>> = {}): Op => ({
  type: "send",
  sender: 0,
  priority: null,
  ttlSeconds: null,
  padding: 0,
  n: 0,
  key: null,
  count: 1,
  conversation: null,
  ...over,
});
const advance = (ms: number): Op => ({ type: "advance", ms });
const nackInFlight: Op = { type: "nack", target: { kind: "inflight" }, retryAfterMs: null, times: 1 };
const ackInFlight: Op = { type: "ack", target: { kind: "inflight" } };

export const EXAMPLES: Scenario[] = [
  // The connector stored an item but its ack died with the socket: reconnecting with that item as
  // lastReceivedId is not a resync, and counts as the lost ack (§6).
  { policy: noPolicy, ops: [connect(), send(), { type: "disconnect" }, connect({ lastReceived: "last-delivered" })] },
  { policy: noPolicy, ops: [connect(), send(), connect({ lastReceived: "last-delivered", takeover: true })] },
  // Five nacks open the breaker; after 30 s one batch probes. A probe lost with its socket (a
  // takeover) must not stall delivery for good.
  {
    policy: noPolicy,
    ops: [connect(), send(), ...Array(5).fill(nackInFlight), advance(30_000), connect({ takeover: true }), ackInFlight],
  },
  // …nor a probe whose only item expires in flight.
  {
    policy: noPolicy,
    ops: [
      connect(),
      send({ ttlSeconds: 60 }),
      ...Array(5).fill(nackInFlight),
      advance(30_000),
      advance(30_000),
      send({ n: 1 }),
      ackInFlight,
    ],
  },
  // Ten unacknowledged sends on a live socket, through the breaker's open and half-open turns: dead-lettered.
  { policy: noPolicy, ops: [connect(), send({ priority: "critical" }), ...Array(16).fill(advance(30_000))] },
  // Non-critical redelivery waits a jittered 1 s, 2 s, 4 s …
  { policy: noPolicy, ops: [connect(), send({ priority: "low" }), advance(30_000), advance(1000), advance(31_000)] },
  // Idempotency keys last 24 h; records of finished messages too.
  {
    policy: noPolicy,
    ops: [
      connect(),
      send({ key: 0 }),
      ackInFlight,
      { type: "resend", index: 0 },
      advance(86_400_000),
      { type: "resend", index: 0 },
    ],
  },
  // What expired while the connector was away is counted in reconnect_ack.
  {
    policy: noPolicy,
    ops: [
      send({ ttlSeconds: 5 }),
      send({ priority: "low", ttlSeconds: 3600 }),
      advance(5000),
      connect({ offline: "since-start" }),
    ],
  },
  // At a full queue (the caps project: 10 items, 4096 bytes) a normal or critical send sheds the
  // oldest queued item of the lowest lane below it; the low lane is refused at 80 %.
  {
    policy: noPolicy,
    ops: [
      send({ priority: "low", padding: 1800 }),
      send({ sender: 1, priority: "low", padding: 900 }),
      send({ sender: 2, priority: "low" }),
      send({ sender: 2, priority: "normal", padding: 1800 }),
      connect(),
    ],
  },
  {
    policy: noPolicy,
    ops: [
      ...[0, 1, 2].map((n) => send({ priority: "low", n })),
      ...[0, 1, 2].map((n) => send({ sender: 1, priority: "normal", n })),
      ...[0, 1, 2, 3].map((n) => send({ sender: 2, priority: "normal", n })),
      send({ sender: 1, priority: "low", n: 3 }),
      send({ priority: "critical", n: 3 }),
      send({ sender: 1, priority: "critical", n: 4 }),
      connect({ offline: "since-start" }),
    ],
  },
  // A sender at its share (5 of 10) whose normal send at a full queue sheds its own oldest low
  // item stays at its share and is admitted (§5, v1.1); another sender's send then sheds the next.
  {
    policy: noPolicy,
    ops: [
      ...[0, 1, 2].map((n) => send({ priority: "low", n })),
      send({ n: 3, count: 2 }),
      send({ sender: 1, count: 5 }),
      send({ n: 5 }),
      send({ sender: 2, n: 6 }),
      connect({ offline: "since-start" }),
    ],
  },
  // An active connector that stops pinging (sleepy) is failed over after RELAY_FAILOVER_AFTER_MS
  // while a standby is connected, the standby getting what was in flight; without a standby it is
  // closed only after RELAY_STALE_AFTER_MS (§6). A standby is also promoted when the active leaves.
  {
    policy: noPolicy,
    ops: [connect({ sleepy: true }), send(), { type: "standby" }, advance(9999), advance(1), ackInFlight],
  },
  {
    policy: noPolicy,
    ops: [connect({ sleepy: true }), send(), advance(30_000), advance(29_999), advance(1), connect()],
  },
  { policy: noPolicy, ops: [connect(), send(), { type: "standby" }, { type: "disconnect" }, ackInFlight] },
  // A tight per-peer rate: a burst of 2, then 429 with Retry-After until the next token.
  {
    policy: { rate: { ratePerMinute: 7, burst: 2 }, second: null },
    ops: [
      send({ sender: 1 }),
      send({ sender: 1, n: 1 }),
      send({ sender: 1, n: 2 }),
      advance(5000),
      send({ sender: 1, n: 3 }),
    ],
  },
];
