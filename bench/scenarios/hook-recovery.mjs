// Hook recovery (PROTOCOL v1.1 §8 hook retry budget): one connector at its default hook settings
// (breaker 5 failures, 30 s open, one probe), messages arriving all along; the agent webhook
// answers 500 until the breaker has opened, stays down a while longer (a random part of the
// probe interval, so the return falls anywhere between two probes), then is back. Measured from
// the webhook's return to its first successful call; nothing may be dead-lettered.

import { CONNECTOR_DEFAULTS } from "../../chaos/defaults.mjs";
import { StandInHook } from "../../scripts/lib/hook.mjs";
import { waitForRole } from "../lib/clawrelay-side.mjs";
import { problemsOf, steadySender } from "../lib/load.mjs";
import { DeliveryTally, median } from "../lib/stats.mjs";

const SEND_EVERY_MS = 100;

export async function runHookRecovery(side, { rounds, extraDownMs }) {
  const agentId = "hr-c0";
  await side.register(agentId);
  const [sender] = await side.senders(1);
  const tally = new DeliveryTally();
  const hook = await new StandInHook({ keepCalls: false }).start();
  let nextCall = null;
  hook.onCall = (call) => {
    if (call.body.type !== "clawrelay.message.v1" || !call.body.item) return;
    tally.arrive(call.body.item.id, null);
    nextCall?.(performance.now());
    nextCall = null;
  };
  const connector = side.connector(agentId, hook.url);
  let breakerOpened = null;
  connector.onLog = (line) => {
    if (line.includes('"event":"hook_breaker_open"')) breakerOpened?.();
  };
  const problems = [];
  const recoveryMs = [];
  const traffic = steadySender(side, sender, agentId, SEND_EVERY_MS);
  try {
    await connector.start();
    await waitForRole(connector, "active");
    for (let round = 0; round < rounds; round++) {
      const opened = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the hook breaker never opened")), 120_000);
        breakerOpened = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      hook.mode = "fail";
      await opened;
      // Shapes the outage only: the return lands at a random point of the probe interval.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * extraDownMs));
      const first = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no webhook call within 60 s of its return")), 60_000);
        nextCall = (at) => {
          clearTimeout(timer);
          resolve(at);
        };
      });
      const backAt = performance.now();
      hook.mode = "ok";
      recoveryMs.push((await first) - backAt);
    }
  } catch (error) {
    problems.push(`clawrelay hook recovery: ${error.message}`);
  } finally {
    hook.mode = "ok";
    await traffic.stop();
  }
  const { accepted, errors } = traffic;
  const lost = await tally.lostOf(accepted, 60_000, "hook recovery: every accepted message");
  const { json } = await connector.status();
  const deadLetters = json.counts?.deadLetters ?? 0;
  if (deadLetters > 0) problems.push(`clawrelay hook recovery: ${deadLetters} dead letters`);
  await connector.kill();
  await hook.close();
  return {
    side: side.name,
    rounds: recoveryMs.length,
    recoveryMs,
    medianMs: median(recoveryMs),
    maxMs: recoveryMs.length ? Math.max(...recoveryMs) : null,
    probeMs: CONNECTOR_DEFAULTS.hookBreakerOpenMs,
    messages: accepted,
    deadLetters,
    lost,
    problems: [...problems, ...problemsOf("clawrelay hook recovery", { errors, lost })],
  };
}
