// Sleep failover (PROTOCOL v1.1 §6): two connectors for one agent at their defaults (ping every
// 5 s), the relay at its default failover time (10 s); SIGSTOP of the active connector — a
// machine gone to sleep, its socket still open — measured to the standby's promotion and to the
// first webhook call made by the standby. Each round then wakes the sleeper (SIGCONT), waits
// until it is back as the standby, and the next round puts the other one to sleep.
import { waitUntil } from "../../scripts/lib/connector.mjs";
import { waitForRole } from "../lib/clawrelay-side.mjs";
import { failoverUnderTraffic } from "../lib/failover-pair.mjs";
import { median } from "../lib/stats.mjs";

const SEND_EVERY_MS = 20;

export async function runSleepFailover(side, { rounds }) {
  const promotedMs = [];
  const firstDeliveryMs = [];
  const frame = { agentId: "sf-c0", idPrefix: "bench-sleep", name: "sleep failover", everyMs: SEND_EVERY_MS, rounds };
  const run = await failoverUnderTraffic(side, frame, async ({ hooks, connectors, active, standby }) => {
    // The standby may be the last round's sleeper, still handing its own inbox to its webhook:
    // only a call after that can be the first one of its promotion.
    await waitUntil(
      async () => (await connectors[standby].status()).json.counts?.inboxPending === 0,
      30_000,
      "the standby's inbox to be empty",
      50,
    );
    const firstCall = hooks[standby].waitNextCall(60_000);
    const stoppedAt = performance.now();
    await connectors[active].signal("SIGSTOP");
    try {
      await waitForRole(connectors[standby], "active", 60_000);
      promotedMs.push(performance.now() - stoppedAt);
      firstDeliveryMs.push((await firstCall) - stoppedAt);
    } finally {
      await connectors[active].signal("SIGCONT");
    }
  });
  return {
    side: side.name,
    rounds: firstDeliveryMs.length,
    promotedMs,
    firstDeliveryMs,
    medianPromotedMs: median(promotedMs),
    medianMs: median(firstDeliveryMs),
    ...run,
  };
}
