// Unit tests of the cost model's arithmetic (bench/lib/cost.mjs); run by bench/run.mjs before
// every run (`node --test bench/test/*.test.mjs` by hand).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  baselineUnits,
  clawrelayUnits,
  cpuMsPerMessage,
  dollarsPerMillion,
  gbSeconds,
  METRICS_FLUSH_AFTER_MS,
  PRICES,
  workerdMs,
} from "../lib/cost.mjs";

const usage = (processes) => ({
  processes: Object.fromEntries(Object.entries(processes).map(([label, cpuSeconds]) => [label, { cpuSeconds }])),
});

test("CPU per message is each process's CPU seconds over the messages, in ms", () => {
  const result = { messages: 2000, usage: usage({ "clawrelay workerd": 9, "clawrelay receivers": 1.5 }) };
  assert.deepEqual(cpuMsPerMessage(result), { "clawrelay workerd": 4.5, "clawrelay receivers": 0.75 });
  assert.equal(workerdMs(cpuMsPerMessage(result)), 4.5);
  assert.equal(cpuMsPerMessage({ messages: 0, usage: usage({ a: 1 }) }), null);
  assert.equal(workerdMs(null), null);
});

test("dollars per million messages: price × units per message, line by line", () => {
  const { lines, total } = dollarsPerMillion({ workerRequests: 1, workerCpuMs: 2, doRequests: 3, doGbSeconds: 0.004 });
  assert.equal(lines.workerRequests, 0.3);
  assert.equal(lines.workerCpu, 0.04);
  assert.ok(Math.abs(lines.doRequests - 0.45) < 1e-12);
  assert.equal(lines.doDuration, 0.05);
  assert.ok(Math.abs(total - 0.84) < 1e-12);
});

test("DO duration bills the 128 MB allotted for the active seconds", () => {
  assert.equal(gbSeconds(8), 0.001);
  assert.equal(PRICES.doMemoryGb, 0.125);
});

test("baseline: one Worker request and one DO RPC per POST, nothing else", () => {
  const live = { messages: 1000, requests: 1000, usage: usage({ "baseline workerd": 2 }) };
  const u = baselineUnits(live);
  assert.equal(u.workerRequests, 1);
  assert.equal(u.doRequests, 1);
  assert.equal(u.wsIn, 0);
  assert.equal(u.workerCpuMs, 2);
  assert.equal(u.doGbSeconds, 0.00025);
});

test("clawrelay: incoming frames at 20:1, receipts and background requests added to the DO requests", () => {
  const counted = {
    messages: 1000,
    requests: 1010,
    seconds: 15,
    sessions: 33,
    receipts: 1000,
    frames: { httpRequests: 0, up: { dataFrames: 400, byType: {} }, down: { dataFrames: 1000, byType: {} } },
    usage: usage({ "clawrelay workerd": 5 }),
  };
  const u = clawrelayUnits(counted, 4);
  assert.equal(u.workerRequests, 1.01);
  assert.equal(u.wsIn, 0.4);
  assert.equal(u.receiptRpc, 1);
  // 15 s: three write-behind alarms (one per 5 s) and two 10 s summary reports per session.
  assert.equal(u.background, (33 * (3 + 2)) / 1000);
  assert.ok(Math.abs(u.doRequests - (1.01 + 0.4 / 20 + 1 + 0.165)) < 1e-12);
  assert.equal(u.workerCpuMs, 4);
  // Without a live run's CPU, the counted pass's own.
  assert.equal(clawrelayUnits(counted, null).workerCpuMs, 5);
});

test("the write-behind interval is the relay's own (apps/proxy/src/session/write-behind.ts)", () => {
  const source = readFileSync(new URL("../../apps/proxy/src/session/write-behind.ts", import.meta.url), "utf8");
  const match = /export const METRICS_FLUSH_AFTER_MS = ([\d_]+);/.exec(source);
  assert.ok(match, "write-behind.ts exports METRICS_FLUSH_AFTER_MS");
  assert.equal(Number(match[1].replaceAll("_", "")), METRICS_FLUSH_AFTER_MS);
});
