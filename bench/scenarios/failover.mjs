// Failover: two connectors for one agent (active + standby), traffic flowing, SIGKILL of the
// active one; measured from the kill to the first webhook call made by the standby. Each round
// brings the killed connector back (same data dir, so it hands its own inbox to the agent) as
// the new standby, and the next round kills the other one.
import { StandInHook } from "../../scripts/lib/hook.mjs";
import { waitForRole } from "../lib/clawrelay-side.mjs";
import { messageBody, problemsOf } from "../lib/load.mjs";
import { ProcessMeter } from "../lib/procstat.mjs";
import { DeliveryTally, median } from "../lib/stats.mjs";

const SEND_EVERY_MS = 20;

/** A hook that feeds the shared tally and tells when it next gets a call. */
export async function watchedHook(tally) {
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

export async function runFailover(side, { rounds }) {
  const agentId = "fo-c0";
  await side.register(agentId);
  const [sender] = await side.senders(1);
  const tally = new DeliveryTally();
  const hooks = [await watchedHook(tally), await watchedHook(tally)];
  const connectors = hooks.map((hook, i) => side.connector(agentId, hook.url, {}, `bench-failover-${i}`));
  const meter = new ProcessMeter([...side.relayTargets()]).start();
  const problems = [];
  const timesMs = [];
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
      // Traffic is flowing through the active connector before it dies.
      const before = hooks[active].calls_;
      while (hooks[active].calls_ < before + 3) await hooks[active].waitNextCall(15_000);
      const firstCall = hooks[standby].waitNextCall(30_000);
      const killedAt = performance.now();
      await connectors[active].kill();
      timesMs.push((await firstCall) - killedAt);
      await connectors[active].start();
      await waitForRole(connectors[active], "standby");
      active = standby;
    }
  } catch (error) {
    problems.push(`clawrelay failover: ${error.message}`);
  } finally {
    sending = false;
    await sendLoop;
  }
  let lost = 0;
  try {
    await tally.waitFor(accepted, 30_000, "failover: every accepted message");
  } catch {
    lost = accepted - tally.count;
  }
  const usage = meter.stop();
  await Promise.all(connectors.map((c) => c.kill()));
  await Promise.all(hooks.map((h) => h.close()));
  return {
    side: side.name,
    rounds: timesMs.length,
    timesMs,
    medianMs: median(timesMs),
    messages: accepted,
    duplicates: tally.duplicates,
    lost,
    usage,
    problems: [...problems, ...problemsOf("clawrelay failover", { errors, lost })],
  };
}
