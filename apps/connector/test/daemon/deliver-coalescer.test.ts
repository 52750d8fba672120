import type { DeliverItem } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { ACK_MAX_DELAY_MS, ACK_QUIET_MS, AckCoalescer, DeliverCoalescer } from "../../src/daemon/deliver-coalescer.js";
import type { DeliverOutcome } from "../../src/daemon/link-types.js";
import { messageItem } from "./helpers/common.js";

function harness(fails: (items: DeliverItem[]) => boolean = () => false) {
  const commits: string[][] = [];
  const answers: DeliverOutcome[] = [];
  const deferred: (() => void)[] = [];
  const delays: number[] = [];
  const coalescer = new DeliverCoalescer(
    (items) => {
      commits.push(items.map((item) => item.id));
      return fails(items) ? null : { ack: items.map((item) => item.id), nackInboxFull: [] };
    },
    (outcome) => answers.push(outcome),
    {
      schedule: (run, delayMs) => {
        delays.push(delayMs);
        deferred.push(run);
      },
    },
  );
  const runDeferred = () => {
    for (const run of deferred.splice(0)) run();
  };
  return { coalescer, commits, answers, runDeferred, delays };
}

describe("DeliverCoalescer", () => {
  it("commits the frames that arrived together once and answers them with one outcome", () => {
    const h = harness();
    const [a, b, c] = [messageItem(), messageItem(), messageItem()];
    h.coalescer.add([a, b]);
    h.coalescer.add([c]);
    expect(h.commits).toEqual([]);
    h.runDeferred();
    expect(h.commits).toEqual([[a.id, b.id, c.id]]);
    expect(h.answers).toEqual([{ ack: [a.id, b.id, c.id], nackInboxFull: [] }]);
  });

  it("retries a failed batch frame by frame, so a bad frame does not hold back the others", () => {
    const bad = messageItem();
    const h = harness((items) => items.some((item) => item.id === bad.id));
    const [good1, good2] = [messageItem(), messageItem()];
    h.coalescer.add([good1]);
    h.coalescer.add([bad]);
    h.coalescer.add([good2]);
    h.runDeferred();
    expect(h.commits).toEqual([[good1.id, bad.id, good2.id], [good1.id], [bad.id], [good2.id]]);
    // Nothing of the failed frame is acked; the relay redelivers it.
    expect(h.answers.flatMap((outcome) => outcome.ack)).toEqual([good1.id, good2.id]);
  });

  it("acks nothing of what was cleared (its socket closed) and commits at once past its size bound", () => {
    const h = harness();
    h.coalescer.add([messageItem()]);
    h.coalescer.clear();
    h.runDeferred();
    expect(h.commits).toEqual([]);
    const many = Array.from({ length: 16 }, () => Array.from({ length: 64 }, () => messageItem()));
    for (const frame of many) h.coalescer.add(frame);
    // 16 × 64 = 1024 items: committed without waiting for the next turn.
    expect(h.commits).toHaveLength(1);
    expect(h.commits[0]).toHaveLength(1024);
    expect(h.answers).toHaveLength(1);
  });

  it("commits on the next turn of the event loop", () => {
    const h = harness();
    h.coalescer.add([messageItem()]);
    expect(h.delays).toEqual([0]);
  });
});

describe("AckCoalescer", () => {
  /** A virtual clock: timers run in time order as `advance` moves it. */
  function acks() {
    const frames: string[][] = [];
    const timers: { at: number; run: () => void }[] = [];
    const clock = { now: 0 };
    const coalescer = new AckCoalescer((ids) => frames.push(ids), {
      schedule: (run, delayMs) => timers.push({ at: clock.now + delayMs, run }),
      now: () => clock.now,
    });
    const advance = (to: number) => {
      for (;;) {
        timers.sort((x, y) => x.at - y.at);
        const next = timers[0];
        if (!next || next.at > to) break;
        timers.shift();
        clock.now = next.at;
        next.run();
      }
      clock.now = to;
    };
    /** Ids added at `at` (the clock moves there first, running what is due). */
    const addAt = (at: number, ids: string[]) => {
      advance(at);
      coalescer.add(ids);
    };
    return { coalescer, frames, timers, advance, addAt };
  }

  it("sends the ids of several commits in one ack frame once the deliveries pause", () => {
    const a = acks();
    a.addAt(0, ["a", "b"]);
    a.addAt(3, ["c"]);
    a.advance(12);
    expect(a.frames).toEqual([]);
    a.advance(3 + ACK_QUIET_MS);
    expect(a.frames).toEqual([["a", "b", "c"]]);
  });

  it("while deliveries keep coming, sends at the latest ACK_MAX_DELAY_MS after the first id", () => {
    const a = acks();
    for (let at = 0; at <= 70; at += 4) a.addAt(at, [`id-${at}`]);
    // Ids up to 48 ms went out at 50 ms; the rest wait for their own pause or longest wait.
    expect(a.frames).toHaveLength(1);
    expect(a.frames[0]).toEqual(Array.from({ length: 13 }, (_, i) => `id-${i * 4}`));
    expect(ACK_MAX_DELAY_MS).toBe(50);
    a.advance(70 + ACK_QUIET_MS);
    expect(a.frames[1]).toEqual(["id-52", "id-56", "id-60", "id-64", "id-68"]);
  });

  it("sends at once with a deliver frame's worth of ids, on demand, and in frames of at most 1,024", () => {
    const a = acks();
    a.addAt(
      0,
      Array.from({ length: 63 }, (_, i) => `a-${i}`),
    );
    expect(a.frames).toEqual([]);
    a.addAt(1, ["a-63"]);
    expect(a.frames.map((ids) => ids.length)).toEqual([64]);
    a.addAt(2, ["b"]);
    a.coalescer.flush();
    expect(a.frames.at(-1)).toEqual(["b"]);
    a.addAt(
      3,
      Array.from({ length: 1500 }, (_, i) => `id-${i}`),
    );
    expect(a.frames.slice(2).map((ids) => ids.length)).toEqual([1024, 476]);
    // The timers armed by the adds find nothing left to send.
    a.advance(1_000);
    expect(a.frames).toHaveLength(4);
  });

  it("sends nothing of what was cleared (the socket closed)", () => {
    const a = acks();
    a.addAt(0, ["a"]);
    a.coalescer.clear();
    a.advance(1_000);
    expect(a.frames).toEqual([]);
  });
});
