import { describe, expect, it } from "vitest";
import { parseChaosSpec } from "../../src/daemon/chaos-point.js";

// The stop itself (write a line, SIGSTOP) is exercised by the chaos harness against the real
// daemon (`pnpm test:chaos --faults connector_kill`); here only what arms it.
describe("CLAWRELAY_CHAOS_STOP_AT", () => {
  it("arms a known point, at the first occurrence unless told otherwise", () => {
    expect(parseChaosSpec("before_commit")).toEqual({ point: "before_commit", occurrence: 1 });
    expect(parseChaosSpec("after_commit:3")).toEqual({ point: "after_commit", occurrence: 3 });
    expect(parseChaosSpec(" after_ack:12 ")).toEqual({ point: "after_ack", occurrence: 12 });
  });

  it("stays inert when unset, empty, or not understood", () => {
    for (const raw of [undefined, "", "after_ack:0", "after_ack:-1", "during_hook", "after_ack:x", "after_ack:1:2"]) {
      expect(parseChaosSpec(raw)).toBeNull();
    }
  });
});
