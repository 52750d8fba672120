// Unit tests of the target verdicts (bench/lib/targets.mjs); run by bench/run.mjs before every run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkTargets, verdict } from "../lib/targets.mjs";

const live = (msgsPerSecond, cpu, p99 = 20) => ({
  messages: 1000,
  msgsPerSecond,
  latencyMs: { p50: 5, p99 },
  usage: { processes: Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, { cpuSeconds: s }])) },
});

const byName = (results) => Object.fromEntries(checkTargets(results).map((t) => [t.name, t]));

test("issue 18's live targets: throughput shares and CPU per message on 32 → 1", () => {
  const t = byName({
    live: {
      c32x1: {
        baseline: live(500, { "baseline workerd": 2 }),
        clawrelay: live(300, { "clawrelay workerd": 3, "clawrelay receivers": 1 }),
      },
      c32x32: { baseline: live(800, {}), clawrelay: live(399, {}) },
      seq1: { clawrelay: live(100, {}, 49.9) },
    },
  });
  assert.equal(t["32 → 1 throughput"].met, true); // 60 %
  assert.equal(t["32 → 32 throughput"].met, false); // 49.9 %
  assert.equal(t["relay CPU per message"].met, true); // 3 ms vs 2 ms = 1.5×
  assert.equal(t["connector CPU per message"].met, true); // 1.0 ms
  assert.equal(t["1 sender sequential latency"].met, true);
});

test("over the bounds: not met", () => {
  const t = byName({
    live: {
      c32x1: {
        baseline: live(500, { "baseline workerd": 2 }),
        clawrelay: live(299, { "clawrelay workerd": 3.1, "clawrelay receivers": 1.1 }),
      },
      seq1: { clawrelay: live(100, {}, 50) },
    },
  });
  assert.equal(t["32 → 1 throughput"].met, false);
  assert.equal(t["relay CPU per message"].met, false);
  assert.equal(t["connector CPU per message"].met, false);
  assert.equal(t["1 sender sequential latency"].met, false);
  assert.equal(t["32 → 32 throughput"].met, null);
});

test("a flat drain is met only when the largest backlog is 100,000; a fall is never", () => {
  const drain = (rate) => ({ clawrelay: { msgsPerSecond: rate, hookMsgsPerSecond: rate } });
  const full = byName({ backlog: { 1000: drain(100), 100000: drain(90) } });
  assert.equal(full["flat backlog drain, relay → connector"].met, true);
  const quick = byName({ backlog: { 100: drain(100), 1000: drain(90) } });
  assert.equal(quick["flat backlog drain, relay → connector"].met, null);
  const fell = byName({ backlog: { 100: drain(100), 1000: drain(70) } });
  assert.equal(fell["flat backlog drain, connector → agent"].met, false);
});

test("nothing run: every target says so, none fails", () => {
  const targets = checkTargets({});
  assert.ok(targets.length >= 11);
  assert.ok(targets.every((t) => t.met === null));
  assert.equal(verdict(null), "not shown by this run");
});
