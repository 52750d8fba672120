// The cost model of BENCHMARKS.md: what one message costs on Cloudflare's Workers Paid plan, from
// what a run counted (requests, WebSocket frames, receipts, CPU) and, where the bench cannot count
// without a counter in product code, from the protocol and the code (marked "derived").
// Pure arithmetic: bench/test/cost.test.mjs covers it.

/**
 * Cloudflare's published Workers Paid prices (USD), read on PRICES_DATE from
 * developers.cloudflare.com/workers/platform/pricing/ and
 * developers.cloudflare.com/durable-objects/platform/pricing/. Marginal prices beyond the monthly
 * allotments; the $5 subscription and the allotments themselves are left out of "per message".
 */
export const PRICES_DATE = "2026-12-03";
export const PRICES = {
  workerRequestPerMillion: 0.3,
  workerCpuMsPerMillion: 0.02,
  doRequestPerMillion: 0.15,
  doGbSecondPerMillion: 12.5,
  /** Incoming WebSocket messages are billed as Durable Object requests at 20:1. */
  wsMessagesPerBilledRequest: 20,
  /** Duration bills the 128 MB a Durable Object is allotted, whatever it uses. */
  doMemoryGb: 0.125,
};
export const PRICE_SOURCES = [
  "https://developers.cloudflare.com/workers/platform/pricing/",
  "https://developers.cloudflare.com/durable-objects/platform/pricing/",
];
/** Every session reports its summary at most once per SUMMARY_INTERVAL_MS (packages/protocol/src/metrics.ts). */
export const SUMMARY_INTERVAL_MS = 10_000;
/**
 * Counters and metrics are written behind (apps/proxy/src/session/write-behind.ts): a working
 * session's alarm fires about once per this interval to write them, so that is the alarm count.
 */
export const METRICS_FLUSH_AFTER_MS = 5000;

/** CPU milliseconds per message of each measured process: { label: ms }; null without messages. */
export function cpuMsPerMessage(result) {
  if (!result?.messages) return null;
  const out = {};
  for (const [label, usage] of Object.entries(result.usage?.processes ?? {})) {
    out[label] = (1000 * usage.cpuSeconds) / result.messages;
  }
  return out;
}

/** The relay's workerd (Worker and Durable Objects in one process) in a cpuMsPerMessage answer. */
export function workerdMs(perMessage) {
  if (!perMessage) return null;
  const key = Object.keys(perMessage).find((label) => label.endsWith(" workerd"));
  return key === undefined ? null : perMessage[key];
}

/**
 * Dollars per million messages from billable units per message:
 * { workerRequests, workerCpuMs, doRequests, doGbSeconds } → { lines: {…}, total }.
 */
export function dollarsPerMillion(units, prices = PRICES) {
  const lines = {
    workerRequests: units.workerRequests * prices.workerRequestPerMillion,
    workerCpu: units.workerCpuMs * prices.workerCpuMsPerMillion,
    doRequests: units.doRequests * prices.doRequestPerMillion,
    doDuration: units.doGbSeconds * prices.doGbSecondPerMillion,
  };
  return { lines, total: Object.values(lines).reduce((a, b) => a + b, 0) };
}

/** DO duration of one message: active seconds (approximated by CPU) × the 128 MB allotted. */
export function gbSeconds(activeMs, prices = PRICES) {
  return (activeMs / 1000) * prices.doMemoryGb;
}

/**
 * The baseline per message: one Worker request (the POST), one RPC to its Durable Object, no
 * incoming WebSocket frames (its client never writes) and no alarms (bench/baseline/src/index.js).
 * `live` is its live result (requests counted), `cpuMs` its workerd CPU per message.
 */
export function baselineUnits(live) {
  const cpuMs = workerdMs(cpuMsPerMessage(live));
  const requests = (live.requests ?? live.messages) / live.messages;
  return {
    workerRequests: requests,
    workerCpuMs: cpuMs ?? 0,
    doRpc: requests,
    wsIn: 0,
    receiptRpc: 0,
    background: 0,
    doRequests: requests,
    doGbSeconds: gbSeconds(cpuMs ?? 0),
  };
}

/**
 * clawrelay per message, from one counted pass (`counted`: the live result through the counting
 * proxy, with `frames`, `receipts` and `sessions`) and the CPU per message of the unproxied live
 * run when there is one (`cpuMs`). Background requests (alarms, summary reports) are derived:
 * each of `sessions` wakes once per METRICS_FLUSH_AFTER_MS and reports once per SUMMARY_INTERVAL_MS
 * while it works (an upper bound: an alarm is not needed when traffic flushed the counters first).
 */
export function clawrelayUnits(counted, cpuMs) {
  const m = counted.messages;
  const postsPerMessage = (counted.requests ?? m) / m;
  const connectorHttp = counted.frames.httpRequests / m;
  const wsIn = counted.frames.up.dataFrames / m;
  const receiptRpc = counted.receipts / m;
  const reports = Math.max(1, Math.ceil((1000 * counted.seconds) / SUMMARY_INTERVAL_MS));
  const alarms = Math.max(1, Math.ceil((1000 * counted.seconds) / METRICS_FLUSH_AFTER_MS));
  const background = (counted.sessions * (alarms + reports)) / m;
  const workerCpuMs = cpuMs ?? workerdMs(cpuMsPerMessage(counted)) ?? 0;
  return {
    workerRequests: postsPerMessage + connectorHttp,
    workerCpuMs,
    doRpc: postsPerMessage,
    wsIn,
    receiptRpc,
    background,
    doRequests: postsPerMessage + wsIn / PRICES.wsMessagesPerBilledRequest + receiptRpc + background,
    doGbSeconds: gbSeconds(workerCpuMs),
  };
}
