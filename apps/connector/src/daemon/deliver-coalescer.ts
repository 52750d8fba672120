import { type DeliverItem, PROTOCOL_LIMITS } from "@clawrelay/protocol";
import type { DeliverOutcome } from "./link-types.js";

/** Coalesced frames are committed at once past this many items (the relay's in-flight window is 256). */
const MAX_COALESCED_ITEMS = PROTOCOL_LIMITS.maxIdsPerFrame;
/** The most ids one ack frame may carry (the frame schema's bound). */
const MAX_ACK_IDS = PROTOCOL_LIMITS.maxIdsPerFrame;
/**
 * How long an ack may wait for more ids. Every frame costs the relay session one event (and a
 * storage commit before its next answer goes out); acks are off every latency path — the agent
 * gets an item once it is committed here, not once the relay heard of it — so they go in bulk.
 */
export const ACK_DELAY_MS = 10;

export interface CoalescerTiming {
  /** Run `run` after `delayMs`; 0 means on the next turn of the event loop. */
  schedule(run: () => void, delayMs: number): void;
}

const systemTiming: CoalescerTiming = {
  schedule: (run, delayMs) => {
    if (delayMs <= 0) setImmediate(run);
    else setTimeout(run, delayMs);
  },
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
 * Ids of committed items, acked in bulk: one ack frame every ACK_DELAY_MS (or at once past
 * MAX_ACK_IDS). `flush()` sends what waits now — before any other frame on the socket, so the
 * relay always hears of an item's ack before its `processed` report.
 */
export class AckCoalescer {
  private ids: string[] = [];
  private readonly scheduler: FlushScheduler;

  constructor(
    private readonly send: (ids: string[]) => void,
    timing: CoalescerTiming = systemTiming,
  ) {
    this.scheduler = new FlushScheduler(() => this.flush(), ACK_DELAY_MS, timing);
  }

  add(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.ids.push(...ids);
    this.scheduler.added(this.ids.length >= MAX_ACK_IDS);
  }

  flush(): void {
    while (this.ids.length > 0) this.send(this.ids.splice(0, MAX_ACK_IDS));
  }

  /** Forget what waits (its socket closed: the relay puts those items back and sends them again). */
  clear(): void {
    this.ids = [];
  }
}
