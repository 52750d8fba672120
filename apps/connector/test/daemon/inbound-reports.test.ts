import { connectorFrameSchema, type ProcessedFrame, parseFrame } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { REPORT_FLUSH_MS, ReportFlusher } from "../../src/daemon/inbound-reports.js";
import type { Store } from "../../src/daemon/store.js";
import { ManualClock } from "./helpers/clock.js";
import { messageItem } from "./helpers/common.js";
import { tempStores } from "./helpers/store.js";

const stores = tempStores({ inboxMaxItems: 3000 });

/** Store `count` messages and give each its hook outcome, as the inbound worker does. */
function finishMessages(store: Store, clock: ManualClock, count: number, failEvery = 0): string[] {
  const items = Array.from({ length: count }, () => messageItem());
  store.storeInbound(items, clock.now());
  const entries = store.inbox.due(clock.now(), count, new Set());
  // Unsynced commits: a thousand fsyncs would only slow the test down.
  store.lazily(() =>
    entries.forEach((entry, index) => {
      if (failEvery > 0 && index % failEvery === 1) {
        store.inbox.deadLetter(entry, 1, "hook_status_400", "failed", clock.now());
      } else {
        store.inbox.markDelivered(entry, 1, clock.now());
      }
    }),
  );
  return entries.map((entry) => entry.id);
}

function setup(linkUp = { value: true }) {
  const { store } = stores.open();
  const clock = new ManualClock();
  const frames: ProcessedFrame[] = [];
  const flusher = new ReportFlusher(store, clock, (frame) => {
    if (!linkUp.value) return false;
    // What goes on the wire must be a frame the relay accepts.
    const parsed = parseFrame(JSON.stringify(frame), connectorFrameSchema);
    expect(parsed.ok).toBe(true);
    frames.push(frame);
    return true;
  });
  return { store, clock, frames, flusher, linkUp };
}

describe("processed reports", () => {
  it("several outcomes in one tick go out as one batched frame, in order, after the flush delay", () => {
    const s = setup();
    const ids = finishMessages(s.store, s.clock, 3, 2);
    for (let i = 0; i < ids.length; i++) s.flusher.schedule();
    s.clock.advance(REPORT_FLUSH_MS - 1);
    expect(s.frames).toEqual([]);
    s.clock.advance(1);
    expect(s.frames).toEqual([
      {
        type: "processed",
        items: [
          { id: ids[0], outcome: "processed" },
          { id: ids[1], outcome: "failed", reason: "hook_status_400" },
          { id: ids[2], outcome: "processed" },
        ],
      },
    ]);
    expect(s.store.counts().pendingReports).toBe(0);
  });

  it("a lone report goes in the single form a v1 relay reads", () => {
    const s = setup();
    const [id] = finishMessages(s.store, s.clock, 1);
    s.flusher.schedule();
    s.clock.advance(REPORT_FLUSH_MS);
    expect(s.frames).toEqual([{ type: "processed", id, outcome: "processed" }]);
  });

  it("at most 1024 reports a frame; what the link refuses stays queued for the next flush", () => {
    const linkUp = { value: false };
    const s = setup(linkUp);
    const ids = finishMessages(s.store, s.clock, 1030);
    s.flusher.flush();
    expect(s.frames).toEqual([]);
    expect(s.store.counts().pendingReports).toBe(1030);
    linkUp.value = true;
    s.flusher.flush();
    const sent = s.frames.map((frame) => ("items" in frame ? frame.items.map((item) => item.id) : [frame.id]));
    expect(sent.map((frameIds) => frameIds.length)).toEqual([1024, 6]);
    expect(sent.flat()).toEqual(ids);
    expect(s.store.counts().pendingReports).toBe(0);
  });
});
