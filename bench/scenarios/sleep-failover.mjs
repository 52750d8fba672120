// Sleep failover (PROTOCOL v1.1 §6): two connectors for one agent at their defaults (ping every
// 5 s), the relay at its default failover time (10 s); SIGSTOP of the active connector — a
// machine gone to sleep, its socket still open — measured to the standby's promotion and to the
// first webhook call made by the standby. Each round then wakes the sleeper (SIGCONT), waits
// until it is back as the standby, and the next round puts the other one to sleep.
import { waitUntil } from "../../scripts/lib/connector.mjs";
import { waitForRole } from "../lib/clawrelay-side.mjs";
import { messageBody, problemsOf } from "../lib/load.mjs";
import { ProcessMeter } from "../lib/procstat.mjs";
import { DeliveryTally, median } from "../lib/stats.mjs";
import { watchedHook } from "./failover.mjs";

const SEND_EVERY_MS = 20;

export async function runSleepFailover(side, { rounds }) {
  const agentId = "sf-c0";
  await side.register(agentId);
  const [sender] = await side.senders(1);
  const tally = new DeliveryTally();
  const hooks = [await watchedHook(tally), await watchedHook(tally)];
  const connectors = hooks.map((hook, i) => side.connector(agentId, hook.url, {}, `bench-sleep-${i}`));
  const meter = new ProcessMeter([...side.relayTargets()]).start();
  const problems = [];
  const promotedMs = [];
  const firstDeliveryMs = [];
  let sending = true;
  let accepted = 0;
  const errors = {};
  const sendLoop = (async () => {
    for (let i = 0; sending; i++) {
      const status = await side.send(sender, agentId, messageBody(i, false)).catch(() => "network");
      if (status === 202) accepted++;
      else errors[status] = (errors[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, SEND_EVERY_MS));
    }
  })();
  try {
    await connectors[0].start();
    await waitForRole(connectors[0], "active");
    await connectors[1].start();
    await waitForRole(connectors[1], "standby");
    let active = 0;
    for (let round = 0; round < rounds; round++) {
      const standby = 1 - active;
      const before = hooks[active].calls_;
      while (hooks[active].calls_ < before + 3) await hooks[active].waitNextCall(15_000);
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
      await waitForRole(connectors[active], "standby");
      active = standby;
    }
  } catch (error) {
    problems.push(`clawrelay sleep failover: ${error.message}`);
  } finally {
    sending = false;
    await sendLoop;
  }
  let lost = 0;
  try {
    await tally.waitFor(accepted, 30_000, "sleep failover: every accepted message");
  } catch {
    lost = accepted - tally.count;
  }
  const usage = meter.stop();
  await Promise.all(connectors.map((c) => c.kill()));
  await Promise.all(hooks.map((h) => h.close()));
  return {
    side: side.name,
    rounds: firstDeliveryMs.length,
    promotedMs,
    firstDeliveryMs,
    medianPromotedMs: median(promotedMs),
    medianMs: median(firstDeliveryMs),
    messages: accepted,
    duplicates: tally.duplicates,
    lost,
    usage,
    problems: [...problems, ...problemsOf("clawrelay sleep failover", { errors, lost })],
  };
}
