import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ManualClock } from "./helpers/clock.js";
import { messageItem, waitUntil } from "./helpers/common.js";
import { inboundWorkers, unsignedHookFormat } from "./helpers/inbound-worker.js";

const setup = inboundWorkers();
const format = unsignedHookFormat;

describe("inbound worker: outcomes committed together (issue 18)", () => {
  it("an answered item whose outcome waits counts as in hand: not called again, named in flight, committed at stop", async () => {
    // A manual clock: the report flush (which would commit the outcome) never comes on its own.
    const s = await setup(() => ({ status: 200 }), format, { clock: new ManualClock() });
    const item = messageItem();
    s.deliver(item);
    await waitUntil(() => s.hook.calls.items.length === 1 && s.worker.status().inFlight === 0, 5_000, "one call");
    const raw = new Database(s.store.path, { readonly: true });
    const state = () => raw.prepare("SELECT state FROM inbox WHERE id = ?").pluck().get(item.id);
    try {
      expect(state()).toBe("pending");
      // A stop now would repeat the call: the chaos harness is told so.
      expect(s.worker.hookCallsInFlight()).toEqual([item.id]);
      for (let i = 0; i < 3; i++) {
        s.worker.wake();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(s.hook.calls.items).toHaveLength(1);
      await s.worker.stop(100);
      expect(state()).toBe("delivered");
      expect(s.worker.hookCallsInFlight()).toEqual([]);
    } finally {
      raw.close();
    }
  });
});
