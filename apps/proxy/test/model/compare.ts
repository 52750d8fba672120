import { PRIORITIES, type ReconnectAckFrame } from "@clawrelay/protocol";
import { expect } from "vitest";
import type { SessionStatus } from "../../src/session/observation/status.js";
import type { MessageRecord } from "../../src/session/queue/records.js";
import type { TestSocket } from "../support/socket.js";
import type { SendResult } from "./live.js";
import type { Delivery, ExpectedReconnectAck, ReferenceSession, SendOutcome } from "./reference.js";

const REFUSAL_STATUS = { sender_blocked: 403, idempotency_key_reused: 409, rate_limited: 429, queue_full: 507 };

/**
 * The send answer against the model's outcome. Returns the 202 answer of a new message so a later
 * idempotent repeat can be checked against it byte for byte.
 */
export function compareSend(where: string, outcome: SendOutcome, real: SendResult, original?: unknown): void {
  if (outcome.kind === "refused") {
    const code = (real.json.error as { code?: string } | undefined)?.code;
    expect({ status: real.status, code }, `${where}: refusal`).toEqual({
      status: REFUSAL_STATUS[outcome.code],
      code: outcome.code,
    });
    if (outcome.retryAfterSeconds !== undefined)
      expect(real.retryAfter, `${where}: Retry-After`).toBe(String(outcome.retryAfterSeconds));
    return;
  }
  if (outcome.kind === "duplicate") {
    expect(real.status, `${where}: idempotent repeat`).toBe(200);
    expect(real.json, `${where}: the original answer`).toEqual({ ...(original as object), duplicate: true });
    return;
  }
  expect(real.status, `${where}: ${JSON.stringify(real.json)}`).toBe(202);
  expect(real.json, `${where}: 202 answer`).toMatchObject({
    status: "queued",
    duplicate: false,
    expiresAt: outcome.item.expiresAt,
    queueDepth: outcome.queueDepth,
  });
}

export function compareReconnectAck(
  where: string,
  expected: ExpectedReconnectAck,
  real: ReconnectAckFrame,
  role: "active" | "standby" = "active",
): void {
  const expiredView = (entries: [string, number | null][]) => entries.sort(([a], [b]) => (a < b ? -1 : 1));
  expect(
    {
      role: real.role,
      lanes: real.lanes,
      queuedCount: real.queuedCount,
      expiredCount: real.expiredCount,
      expired: expiredView(real.expired.map((e) => [e.id, e.expiredAt])),
      oldestQueuedAt: real.oldestQueuedAt,
      lastAckedId: real.lastAckedId,
      resync: real.resync,
    },
    `${where}: reconnect_ack`,
  ).toEqual({
    role,
    lanes: expected.lanes,
    queuedCount: expected.queuedCount,
    expiredCount: expected.expired.length,
    expired: expiredView(expected.expired.slice(0, 100).map((i) => [i.id, i.finishedAt])),
    oldestQueuedAt: expected.oldestQueuedAt,
    lastAckedId: expected.lastAckedId,
    resync: expected.resync,
  });
}

/** The items the model says just went out, in order, must be exactly what the socket receives. */
export async function compareDeliveries(
  where: string,
  expected: Delivery[],
  socket: TestSocket | null,
  senderId: (index: number) => string,
): Promise<void> {
  if (expected.length === 0) return;
  if (!socket) throw new Error(`${where}: the model delivered without a connection`);
  const got = await socket.items(expected.length, 3000);
  expect(
    got.map((item) =>
      item.kind === "message"
        ? {
            id: item.id,
            attempt: item.attempt,
            priority: item.priority,
            from: item.from,
            expiresAt: item.expiresAt,
            ...present(item),
          }
        : item,
    ),
    `${where}: delivered items`,
  ).toEqual(
    expected.map(({ item, attempt }) => ({
      id: item.id,
      attempt,
      priority: PRIORITIES[item.lane],
      from: senderId(item.sender),
      expiresAt: item.expiresAt,
      ...present(item),
    })),
  );
}

/**
 * The conversation fields a side has, keys included only when present: toEqual ignores undefined
 * values, so a key that is there (even as null) on one side only must still show as a difference.
 */
function present(item: { conversationId?: unknown; inReplyTo?: unknown }): Record<string, unknown> {
  return {
    ...(item.conversationId !== undefined ? { conversationId: item.conversationId } : {}),
    ...(item.inReplyTo !== undefined ? { inReplyTo: item.inReplyTo } : {}),
  };
}

/** Queue by lane (items and bytes), in flight, breaker, counters and sockets, after every step. */
export function compareStatus(where: string, model: ReferenceSession, clock: number, status: SessionStatus): void {
  expect(clock, `${where}: the session's clock is the model's`).toBe(model.now);
  const lane = (rank: number) => {
    const items = model.live().filter((i) => i.lane === rank);
    return { items: items.length, bytes: items.reduce((sum, i) => sum + i.bytes, 0) };
  };
  expect(
    {
      lanes: Object.fromEntries(
        PRIORITIES.map((name) => [
          name,
          { items: status.queue.lanes[name].items, bytes: status.queue.lanes[name].bytes },
        ]),
      ),
      inFlight: status.queue.inFlight,
      breaker: status.breaker,
      counters: status.counters,
      connections: status.connections.length,
    },
    `${where}: session status`,
  ).toEqual({
    lanes: Object.fromEntries(PRIORITIES.map((name, rank) => [name, lane(rank)])),
    inFlight: model.inFlight(),
    breaker: {
      state: model.breakerState(),
      consecutiveFailures: model.breaker.failures,
      openedAt: model.breaker.openedAt,
    },
    counters: model.counters,
    connections: model.connections(),
  });
}

/** Every message's record: its state, attempts and its one failure receipt (or none); swept records are gone. */
export function compareRecords(where: string, model: ReferenceSession, records: (MessageRecord | string)[]): void {
  const failure = new Map(model.receipts.map((r) => [r.item.seq, r.status]));
  expect(
    records.map((r) =>
      typeof r === "string"
        ? r
        : { state: r.state, attempts: r.attempts, receipts: r.receipts.map((x) => x.status), ...present(r) },
    ),
    `${where}: message records`,
  ).toEqual(
    model.items.map((i) => {
      if (i.purged) return "not_found";
      const status = failure.get(i.seq);
      return { state: i.state, attempts: i.attempts, receipts: status ? [status] : [], ...present(i) };
    }),
  );
}
