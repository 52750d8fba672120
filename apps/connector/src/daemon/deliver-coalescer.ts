import { type DeliverItem, PROTOCOL_LIMITS } from "@clawrelay/protocol";
import type { DeliverOutcome } from "./link-types.js";

/** Coalesced frames are committed at once past this many items (the relay's in-flight window is 256). */
const MAX_COALESCED_ITEMS = PROTOCOL_LIMITS.maxIdsPerFrame;
/** The most ids one ack frame may carry (the frame schema's bound). */
const MAX_ACK_IDS = PROTOCOL_LIMITS.maxIdsPerFrame;
/**
 * How long acks wait for more ids. Every frame costs the relay session one event (about as much
 * CPU as a message's own work, issue 18) and acks are off every latency path — the agent gets an
 * item once it is committed here, not once the relay heard of it — so they go in bulk: once the
 * deliveries pause for ACK_QUIET_MS (the relay may be waiting on its in-flight window), at the
 * latest ACK_MAX_DELAY_MS after the first id, and at once with a full deliver frame's worth, so
 * a backlog's 64-item frames are acked as they commit and the default window (256) never waits.
 * Quiet 10 ms kept most of the cost (deliveries of 32 senders pause that long all the time); a
 * window set below 64 items caps delivery at about window / 25 ms.
 */
export const ACK_QUIET_MS = 25;
export const ACK_MAX_DELAY_MS = 50;
const ACK_AT_IDS = PROTOCOL_LIMITS.maxItemsPerDeliverFrame;

export interface CoalescerTiming {
  /** Run `run` after `delayMs`; 0 means on the next turn of the event loop. */
  schedule(run: () => void, delayMs: number): void;
}

/** The ack coalescer also reads the time, to tell a pause in the deliveries from a stream. */
export interface AckTiming extends CoalescerTiming {
  now(): number;
}

const systemTiming: AckTiming = {
  schedule: (run, delayMs) => {
    if (delayMs <= 0) setImmediate(run);
    else setTimeout(run, delayMs);
  },
  now: () => performance.now(),
};

/**
 * Deliver frames that arrive together (the socket read several while the previous commit was
 * fsyncing) are committed in one transaction, instead of one commit per frame. A batch that
 * fails to commit is tried again frame by frame, so one bad frame never holds back the others;
 * what still fails is not acked, and the relay sends it again after its ack timeout.
 */
/** Flush at once when a batch is full, else once after `delayMs`, however many adds come first. */
class FlushScheduler {
  private scheduled = false;

  constructor(
    private readonly flush: () => void,
    private readonly delayMs: number,
    private readonly timing: CoalescerTiming,
  ) {}

  added(full: boolean): void {
    if (full) {
      this.flush();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    this.timing.schedule(() => {
      this.scheduled = false;
      this.flush();
    }, this.delayMs);
  }
}

export class DeliverCoalescer {
  private frames: DeliverItem[][] = [];
  private count = 0;
  private readonly scheduler: FlushScheduler;

  constructor(
    /** Commit the items; null when nothing was stored (the commit threw). */
    private readonly commit: (items: DeliverItem[]) => DeliverOutcome | null,
    private readonly answer: (outcome: DeliverOutcome) => void,
    timing: CoalescerTiming = systemTiming,
  ) {
    this.scheduler = new FlushScheduler(() => this.flush(), 0, timing);
  }

  add(items: DeliverItem[]): void {
    if (items.length === 0) return;
    this.frames.push(items);
    this.count += items.length;
    this.scheduler.added(this.count >= MAX_COALESCED_ITEMS);
  }

  /** Forget what waits (its socket closed: none of it was acked, so the relay sends it again). */
  clear(): void {
    this.frames = [];
    this.count = 0;
  }

  flush(): void {
    const frames = this.frames;
    this.clear();
    if (frames.length === 0) return;
    const outcome = this.commit(frames.length === 1 ? (frames[0] as DeliverItem[]) : frames.flat());
    if (outcome) {
      this.answer(outcome);
      return;
    }
    if (frames.length === 1) return;
    for (const frame of frames) {
      const one = this.commit(frame);
      if (one) this.answer(one);
    }
  }
}

/**
 * Ids of committed items, acked in bulk (see ACK_QUIET_MS). `flush()` sends what waits now —
 * before any other frame on the socket, so the relay always hears of an item's ack before its
 * `processed` report.
 */
export class AckCoalescer {
  private ids: string[] = [];
  private firstAt = 0;
  private lastAt = 0;
  private armed = false;

  constructor(
    private readonly send: (ids: string[]) => void,
    private readonly timing: AckTiming = systemTiming,
  ) {}

  add(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const now = this.timing.now();
    if (this.ids.length === 0) this.firstAt = now;
    this.lastAt = now;
    this.ids.push(...ids);
    if (this.ids.length >= ACK_AT_IDS) this.flush();
    else this.arm(ACK_QUIET_MS);
  }

  flush(): void {
    while (this.ids.length > 0) this.send(this.ids.splice(0, MAX_ACK_IDS));
  }

  /** Forget what waits (its socket closed: the relay puts those items back and sends them again). */
  clear(): void {
    this.ids = [];
  }

  private arm(delayMs: number): void {
    if (this.armed) return;
    this.armed = true;
    this.timing.schedule(() => {
      this.armed = false;
      this.due();
    }, delayMs);
  }

  /** A timer fired: send after a pause or the longest wait, else look again when one of them ends. */
  private due(): void {
    if (this.ids.length === 0) return;
    const now = this.timing.now();
    const quietFor = now - this.lastAt;
    const waited = now - this.firstAt;
    if (quietFor >= ACK_QUIET_MS || waited >= ACK_MAX_DELAY_MS) this.flush();
    else this.arm(Math.max(1, Math.min(ACK_QUIET_MS - quietFor, ACK_MAX_DELAY_MS - waited)));
  }
}
