// Two connectors for one agent, each with its own watched webhook: the failover scenarios kill
// or stop the active one and time how soon the standby's webhook is called.
import { StandInHook } from "../../scripts/lib/hook.mjs";
import { waitForRole } from "./clawrelay-side.mjs";
import { problemsOf, steadySender } from "./load.mjs";
import { ProcessMeter } from "./procstat.mjs";
import { DeliveryTally } from "./stats.mjs";

/** A hook that feeds the shared tally and tells when it next gets a call. */
async function watchedHook(tally) {
  const hook = await new StandInHook({ keepCalls: false }).start();
  hook.calls_ = 0;
  hook.nextCall = null;
  hook.onCall = (call) => {
    const item = call.body.item;
    if (call.body.type !== "clawrelay.message.v1" || !item) return;
    tally.arrive(item.id, null);
    hook.calls_++;
    hook.nextCall?.(performance.now());
    hook.nextCall = null;
  };
  hook.waitNextCall = (timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no webhook call within ${timeoutMs} ms`)), timeoutMs);
      hook.nextCall = (at) => {
        clearTimeout(timer);
        resolve(at);
      };
    });
  return hook;
}

/**
 * Two watched hooks and two connectors (ids `${idPrefix}-0`, `-1`) for `agentId`, not started
 * yet: the meter and the traffic start first, so the start itself is under load.
 */
async function activeStandbyPair(side, agentId, tally, idPrefix) {
  const hooks = [await watchedHook(tally), await watchedHook(tally)];
  const connectors = hooks.map((hook, i) => side.connector(agentId, hook.url, {}, `${idPrefix}-${i}`));
  return {
    hooks,
    connectors,
    /** The first one is started until active, then the second until standby (the roles are then known). */
    async start() {
      await connectors[0].start();
      await waitForRole(connectors[0], "active");
      await connectors[1].start();
      await waitForRole(connectors[1], "standby");
    },
    async close() {
      await Promise.all(connectors.map((c) => c.kill()));
      await Promise.all(hooks.map((h) => h.close()));
    },
  };
}

/**
 * The frame both failover scenarios share: `agentId` registered, one sender posting every
 * `everyMs` all along, the relay metered, the pair started (active, then standby), then `rounds`
 * rounds. Each waits for traffic through the active connector, runs `oneRound({ hooks,
 * connectors, active, standby })` (indexes into both) to take the active one out and bring it
 * back, waits until it is the standby again and swaps the roles for the next round. A throw ends
 * the rounds and becomes a problem named `clawrelay ${name}`; afterwards every accepted message
 * must reach a webhook. Resolves with the report fields after the scenario's own:
 * { messages, duplicates, lost, usage, problems }.
 */
export async function failoverUnderTraffic(side, { agentId, idPrefix, name, everyMs, rounds }, oneRound) {
  await side.register(agentId);
  const [sender] = await side.senders(1);
  const tally = new DeliveryTally();
  const pair = await activeStandbyPair(side, agentId, tally, idPrefix);
  const meter = new ProcessMeter([...side.relayTargets()]).start();
  const problems = [];
  const traffic = steadySender(side, sender, agentId, everyMs);
  try {
    await pair.start();
    const { hooks, connectors } = pair;
    let active = 0;
    for (let round = 0; round < rounds; round++) {
      const standby = 1 - active;
      // Traffic is flowing through the active connector before it goes.
      const before = hooks[active].calls_;
      while (hooks[active].calls_ < before + 3) await hooks[active].waitNextCall(15_000);
      await oneRound({ hooks, connectors, active, standby });
      await waitForRole(connectors[active], "standby");
      active = standby;
    }
  } catch (error) {
    problems.push(`clawrelay ${name}: ${error.message}`);
  } finally {
    await traffic.stop();
  }
  const { accepted, errors } = traffic;
  const lost = await tally.lostOf(accepted, 30_000, `${name}: every accepted message`);
  const usage = meter.stop();
  await pair.close();
  return {
    messages: accepted,
    duplicates: tally.duplicates,
    lost,
    usage,
    problems: [...problems, ...problemsOf(`clawrelay ${name}`, { errors, lost })],
  };
}
