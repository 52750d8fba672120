import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { relayConfig } from "../../src/config.js";
import type { TestAgent } from "../support/agents.js";
import { realNow } from "../support/clock.js";
import { compareDeliveries, compareReconnectAck, compareRecords, compareSend, compareStatus } from "./compare.js";
import type { Coverage } from "./coverage.js";
import { LiveSession } from "./live.js";
import { makeSenders, RecipientPool } from "./live-agents.js";
import { IDEMPOTENCY_KEYS, type Op, policyRules, type Scenario, SENDERS, type Target } from "./ops.js";
import { type Delivery, type ModelConfig, ReferenceSession, type SendRequest } from "./reference.js";

/** The relay vars of the vitest project this runs in (the caps project lowers the queue caps). */
export function modelConfig(): ModelConfig {
  const c = relayConfig(env);
  return {
    maxItems: c.RELAY_QUEUE_MAX_ITEMS,
    maxBytes: c.RELAY_QUEUE_MAX_BYTES,
    lowAdmitRatio: c.RELAY_LOW_LANE_ADMIT_RATIO,
    senderShare: c.RELAY_SENDER_SHARE,
    ratePerMinute: c.RELAY_RATE_PER_MINUTE,
    burst: c.RELAY_RATE_BURST,
    idempotencyMs: c.RELAY_IDEMPOTENCY_SECONDS * 1000,
    ackTimeoutMs: c.RELAY_ACK_TIMEOUT_MS,
    maxAttempts: c.RELAY_MAX_ATTEMPTS,
    maxInFlight: c.RELAY_MAX_IN_FLIGHT,
    defaultTtlSeconds: c.RELAY_DEFAULT_TTL_SECONDS,
    retentionMs: c.RELAY_RECORD_RETENTION_SECONDS * 1000,
    staleMs: c.RELAY_STALE_AFTER_MS,
    failoverMs: c.RELAY_FAILOVER_AFTER_MS,
  };
}

/** Runs stop adding clock steps past this, so the recipient's 60-day token never expires mid-run. */
const MAX_TOTAL_ADVANCE_MS = 20 * 86_400_000;
const UNKNOWN_ID = "01KZZZZZZZZZZZZZZZZZZZZZZZ";

export interface Fixture {
  config: ModelConfig;
  senders: TestAgent[];
  recipients: RecipientPool;
  coverage: Coverage;
}

export async function makeFixture(coverage: Coverage): Promise<Fixture> {
  return { config: modelConfig(), senders: await makeSenders(SENDERS), recipients: new RecipientPool(), coverage };
}

/** One op list against both the reference model and the real session; any difference fails the run. */
export async function runScenario(scenario: Scenario, fixture: Fixture): Promise<void> {
  const rules = policyRules(scenario.policy, fixture.config.maxItems);
  // A day ahead of the wall clock (not of the last run's clock), on a whole second: see LiveSession.
  const start = Math.ceil((realNow() + 86_400_000) / 1000) * 1000;
  const model = new ReferenceSession(fixture.config, rules, start);
  const live = await LiveSession.open(fixture.recipients, fixture.senders, rules, start);
  const run = new Run(model, live, fixture.coverage, await receiptsHeld(live));
  try {
    for (const [index, op] of scenario.ops.entries()) {
      run.step = `op ${index} ${JSON.stringify(op)}`;
      const before = { ...model.counters };
      await run.apply(op);
      run.noteCounters(before);
      const { clock, status } = await live.status();
      compareStatus(run.step, model, clock, status);
    }
    run.step = "after the last op";
    compareRecords(run.step, model, await live.records(model.items.map((i) => i.id)));
    await run.compareReceiptsHeld();
  } finally {
    fixture.coverage.endRun();
    await live.close();
  }
}

class Run {
  step = "";
  private readonly requests: SendRequest[] = [];
  private readonly answers = new Map<number, Record<string, unknown>>();
  private lastDelivered: string | null = null;
  private offlineSince: number;
  private readonly start: number;

  constructor(
    private readonly model: ReferenceSession,
    private readonly live: LiveSession,
    private readonly coverage: Coverage,
    /** Receipts each (shared) sender's session held before this run. */
    private readonly heldBefore: number[],
  ) {
    this.start = model.now;
    this.offlineSince = model.now;
  }

  async apply(op: Op): Promise<void> {
    switch (op.type) {
      case "send":
        for (let i = 0; i < op.count; i++) {
          const n = op.n + i;
          await this.send({
            sender: op.sender,
            body: {
              payload: op.padding > 0 ? { n, pad: "x".repeat(op.padding) } : { n },
              ...(op.priority ? { priority: op.priority } : {}),
              ...(op.ttlSeconds !== null ? { ttlSeconds: op.ttlSeconds } : {}),
              ...(op.conversation ? { conversationId: op.conversation.conversationId } : {}),
              ...(op.conversation?.inReplyTo ? { inReplyTo: op.conversation.inReplyTo } : {}),
            },
            key: op.key === null ? null : (IDEMPOTENCY_KEYS[op.key] ?? null),
          });
        }
        return;
      case "resend": {
        const earlier = this.requests[op.index % Math.max(1, this.requests.length)];
        return earlier ? this.send(earlier) : undefined;
      }
      case "ack": {
        if (!this.live.socket) return;
        const ids = this.resolve(op.target);
        await this.live.frame({ type: "ack", ids });
        return this.expectDeliveries(this.model.ack(ids));
      }
      case "nack": {
        const retryAfterMs = op.retryAfterMs ?? undefined;
        for (let i = 0; i < op.times && this.live.socket; i++) {
          const ids = this.resolve(op.target);
          await this.live.frame({
            type: "nack",
            ids,
            reason: "inbox_full",
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          });
          await this.expectDeliveries(this.model.nack(ids, retryAfterMs));
        }
        return;
      }
      case "advance": {
        if (this.model.now - this.start + op.ms > MAX_TOTAL_ADVANCE_MS) return;
        const ms = this.model.settleAdvance(op.ms);
        const inFlight = this.model.items.filter((i) => i.state === "inflight");
        await this.live.advance(ms);
        const { deliveries, sweep } = this.model.advance(ms);
        if (inFlight.some((i) => i.state === "expired")) this.coverage.note("expired_in_flight");
        if (this.model.items.some((i) => i.purged)) this.coverage.note("record_swept");
        if (sweep !== null) {
          this.coverage.note(sweep);
          await this.live.closedBySession(sweep === "failed_over");
          if (sweep === "closed_stale") this.offlineSince = this.model.now;
        }
        return this.expectDeliveries(deliveries);
      }
      case "disconnect": {
        if (!this.live.socket) return;
        const promoted = this.live.standby !== null;
        await this.live.disconnect();
        const deliveries = this.model.disconnect();
        if (promoted) {
          this.coverage.note("promoted");
          await this.live.promoted();
        } else this.offlineSince = this.model.now;
        return this.expectDeliveries(deliveries);
      }
      case "standby": {
        if (!this.live.socket || this.live.standby) return;
        const real = await this.live.connectStandby();
        compareReconnectAck(this.step, this.model.connectStandby(), real, "standby");
        return;
      }
      case "connect":
        return this.connect(op);
    }
  }

  private async send(request: SendRequest): Promise<void> {
    this.requests.push(request);
    const { outcome, deliveries } = this.model.send(request);
    const real = await this.live.send(request);
    const original = outcome.kind === "duplicate" ? this.answers.get(outcome.of.seq) : undefined;
    compareSend(`${this.step}: send`, outcome, real, original);
    this.coverage.note(outcome.kind === "refused" ? outcome.code : outcome.kind);
    if (outcome.kind === "queued") {
      outcome.item.id = String(real.json.messageId);
      this.answers.set(outcome.item.seq, real.json);
      if (outcome.shed.length > 0) this.coverage.note("shed");
      if (outcome.shed.some((victim) => victim.sender === request.sender)) this.coverage.note("shed_own");
    }
    await this.expectDeliveries(deliveries);
  }

  /** Ids for an ack or nack: what is in flight, or items picked by index in any state, maybe an unknown one. */
  private resolve(target: Target): string[] {
    if (target.kind === "inflight") {
      const ids = this.model.items.filter((i) => i.state === "inflight").map((i) => i.id);
      return ids.length > 0 ? ids : [UNKNOWN_ID];
    }
    const items = this.model.items;
    const ids = items.length > 0 ? target.indices.map((i) => items[i % items.length]?.id ?? UNKNOWN_ID) : [];
    if (target.unknown || ids.length === 0) ids.push(UNKNOWN_ID);
    return ids;
  }

  private async connect(op: Extract<Op, { type: "connect" }>): Promise<void> {
    const items = this.model.items;
    const picked = items[op.index % Math.max(1, items.length)]?.id ?? UNKNOWN_ID;
    const lastReceivedId = {
      none: null,
      unknown: UNKNOWN_ID,
      "last-delivered": this.lastDelivered ?? UNKNOWN_ID,
      item: picked,
    }[op.lastReceived];
    const offlineSinceMs = { none: null, "since-start": this.start, "since-disconnect": this.offlineSince }[op.offline];
    if (this.live.socket) {
      this.coverage.note("replaced");
      const backedOff = this.model.items.some((i) => i.state === "queued" && i.nextAtLatest > this.model.now);
      if (op.takeover && (backedOff || this.model.breakerState() !== "closed")) this.coverage.note("handed_over");
    }
    const ackedBefore = this.model.counters.acked;
    const real = await this.live.connect(lastReceivedId, offlineSinceMs, op.takeover, op.sleepy);
    const expected = this.model.connect(lastReceivedId, offlineSinceMs, op.takeover, op.sleepy);
    compareReconnectAck(this.step, expected.ack, real);
    if (expected.ack.resync) this.coverage.note("resync");
    if (this.model.counters.acked > ackedBefore) this.coverage.note("lost_ack_recovered");
    await this.expectDeliveries(expected.deliveries);
  }

  private async expectDeliveries(expected: Delivery[]): Promise<void> {
    await compareDeliveries(this.step, expected, this.live.socket, (i) => this.live.senderId(i));
    if (expected.some((d) => d.item.conversationId !== undefined)) this.coverage.note("conversation");
    this.lastDelivered = expected.at(-1)?.item.id ?? this.lastDelivered;
  }

  noteCounters(before: ReferenceSession["counters"]): void {
    const after = this.model.counters;
    if (after.sent > before.sent) this.coverage.note("delivered");
    if (after.acked > before.acked) this.coverage.note("acked");
    if (after.nacked > before.nacked) this.coverage.note("nacked");
    if (after.ack_timeouts > before.ack_timeouts) this.coverage.note("ack_timeout");
    if (after.expired > before.expired) this.coverage.note("expired");
    if (this.model.breakerState() !== "closed") this.coverage.note("breaker_open");
    if (this.model.breaker.probe) this.coverage.note("breaker_probe");
    if (this.model.receipts.some((r) => r.status === "dead_lettered")) this.coverage.note("dead_lettered");
    if (this.model.items.some((i) => i.state === "inflight" && i.attempts > 1)) this.coverage.note("redelivered");
  }

  /**
   * Failure receipts reach each sender's own session in the background: an outbox flushed after
   * each emission and, for what a flush already under way did not pick up, by the next alarm (due
   * at once). So let the alarm run, without moving the clock, until they have all arrived.
   */
  async compareReceiptsHeld(): Promise<void> {
    const expected = this.heldBefore.map(
      (before, sender) => before + this.model.receipts.filter((r) => r.item.sender === sender).length,
    );
    // performance.now(): the run's `Date` stands still.
    const deadline = performance.now() + 3000;
    let held = await receiptsHeld(this.live);
    while (held.some((n, i) => n !== expected[i]) && performance.now() < deadline) {
      await this.live.runDueAlarm();
      held = await receiptsHeld(this.live);
    }
    expect(held, `${this.step}: receipts held in each sender's session`).toEqual(expected);
  }
}

function receiptsHeld(live: LiveSession): Promise<number[]> {
  return Promise.all(Array.from({ length: SENDERS }, (_, sender) => live.receiptsHeldFor(sender)));
}
