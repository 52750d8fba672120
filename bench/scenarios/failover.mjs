// Failover: two connectors for one agent (active + standby), traffic flowing, SIGKILL of the
// active one; measured from the kill to the first webhook call made by the standby. Each round
// brings the killed connector back (same data dir, so it hands its own inbox to the agent) as
// the new standby, and the next round kills the other one.
import { failoverUnderTraffic } from "../lib/failover-pair.mjs";
import { median } from "../lib/stats.mjs";

const SEND_EVERY_MS = 20;

export async function runFailover(side, { rounds }) {
  const timesMs = [];
  const frame = { agentId: "fo-c0", idPrefix: "bench-failover", name: "failover", everyMs: SEND_EVERY_MS, rounds };
  const run = await failoverUnderTraffic(side, frame, async ({ hooks, connectors, active, standby }) => {
    const firstCall = hooks[standby].waitNextCall(30_000);
    const killedAt = performance.now();
    await connectors[active].kill();
    timesMs.push((await firstCall) - killedAt);
    await connectors[active].start();
  });
  return { side: side.name, rounds: timesMs.length, timesMs, medianMs: median(timesMs), ...run };
}
