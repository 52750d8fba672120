import type { DeliverItem } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { ACK_DELAY_MS, AckCoalescer, DeliverCoalescer } from "../../src/daemon/deliver-coalescer.js";
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
  function acks() {
    const frames: string[][] = [];
    const scheduled: { run: () => void; delayMs: number }[] = [];
    const coalescer = new AckCoalescer((ids) => frames.push(ids), {
      schedule: (run, delayMs) => scheduled.push({ run, delayMs }),
    });
    return { coalescer, frames, scheduled };
  }

  it("sends the ids of several commits in one ack frame after the delay", () => {
    const a = acks();
    a.coalescer.add(["a", "b"]);
    a.coalescer.add(["c"]);
    expect(a.frames).toEqual([]);
    expect(a.scheduled.map((s) => s.delayMs)).toEqual([ACK_DELAY_MS]);
    a.scheduled[0]?.run();
    expect(a.frames).toEqual([["a", "b", "c"]]);
  });

  it("flushes at once on demand (before another frame) and past 1,024 ids, in frames of at most 1,024", () => {
    const a = acks();
    a.coalescer.add(["a"]);
    a.coalescer.flush();
    expect(a.frames).toEqual([["a"]]);
    a.coalescer.add(Array.from({ length: 1500 }, (_, i) => `id-${i}`));
    expect(a.frames.slice(1).map((ids) => ids.length)).toEqual([1024, 476]);
    // The timer armed by the first add finds nothing left to send.
    for (const s of a.scheduled) s.run();
    expect(a.frames).toHaveLength(3);
  });

  it("sends nothing of what was cleared (the socket closed)", () => {
    const a = acks();
    a.coalescer.add(["a"]);
    a.coalescer.clear();
    for (const s of a.scheduled) s.run();
    expect(a.frames).toEqual([]);
  });
});
