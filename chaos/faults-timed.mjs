// The faults of the chaos harness that hold a time bound of PROTOCOL.md v1.1 (RELIABILITY.md,
// "How each fault is tested"): failover from a sleeping active connector, reconnecting after a
// relay restart, and a long webhook outage at the default hook settings. Each throws when its
// bound is missed; loss, duplicates and lane order are checked by the caller as for every fault.
import { waitUntil } from "../scripts/lib/connector.mjs";
import { CONNECTOR_DEFAULTS, RELAY_DEFAULTS } from "./defaults.mjs";
import { firstAccept, firstAnswer, pace, waitForStopped, within } from "./util.mjs";

/**
 * Allowed beyond RELAY_FAILOVER_AFTER_MS for the promotion: the relay's alarm running late and
 * the harness's 100 ms status polls. The connector's last ping is at most one interval before
 * the stop, which makes the promotion earlier, never later.
 */
export const SLEEP_MARGIN_MS = 3_000;
/** PROTOCOL.md §8: back within 5 s of a relay that restarted. */
export const RESTART_BOUND_MS = 5_000;
/** How long `relay_restart` keeps the relay down, and `hook_outage_long` the webhook. */
const RELAY_DOWN_MS = 20_000;
const HOOK_OUTAGE_MS = 180_000;

/**
 * SIGSTOP of r-fo's active connector (a machine gone to sleep: its socket stays open) while the
 * standby is connected and senders keep sending; the relay, at its default failover time, must
 * promote the standby within RELAY_FAILOVER_AFTER_MS + SLEEP_MARGIN_MS. Then SIGCONT: the
 * sleeper finds its socket closed and comes back as the standby.
 */
export async function sleepActive(world) {
  const agentId = world.nodes.foA.id;
  const failoverMs = RELAY_DEFAULTS.RELAY_FAILOVER_AFTER_MS;
  const [sleeper, standby] = await world.activeAndStandby(agentId, [world.nodes.foA, world.nodes.foB]);
  const burst = world.burst(agentId, 4);
  const stoppedAt = Date.now();
  await sleeper.connector.signal("SIGSTOP");
  let promotedAfter;
  try {
    await waitForStopped(sleeper.connector, sleeper.name);
    await world.waitForRole(agentId, standby.name, "active", failoverMs + SLEEP_MARGIN_MS + 10_000);
    promotedAfter = Date.now() - stoppedAt;
    await within(burst, 120_000, "the burst to be answered");
    // New traffic for the promoted connector while the sleeper still sleeps.
    await world.burst(agentId, 1);
  } finally {
    await sleeper.connector.signal("SIGCONT");
  }
  if (promotedAfter > failoverMs + SLEEP_MARGIN_MS) {
    throw new Error(
      `${standby.name} promoted ${promotedAfter} ms after ${sleeper.name} slept (bound ${failoverMs} + ${SLEEP_MARGIN_MS} ms)`,
    );
  }
  await world.waitForRole(agentId, sleeper.name, "standby", 30_000);
  return `${sleeper.name} slept, ${standby.name} promoted after ${promotedAfter} ms (bound ${failoverMs + SLEEP_MARGIN_MS})`;
}

/**
 * Graceful stop of the relay, 20 s down while the senders keep sending, restart on the same
 * state. Every connector must have its link up (`link_connected`) within 5 s of the relay
 * listening again. `wrangler dev` accepts TCP connections seconds before its Worker answers (it
 * holds them until then), so both moments are taken: the port accepting a connection, and the
 * first answer to a request; the bound is judged from the later of the two, the moment a client
 * could be served, and the note gives both figures.
 */
export async function relayRestart(world) {
  const nodes = world.allNodes().filter((node) => node.connector.running);
  const linked = nodes.map((node) => node.tap.recorder((line) => line.event === "link_connected"));
  try {
    await within(world.relay.stop(), 30_000, "wrangler dev to stop");
    const downSince = Date.now();
    const burst = world.burst(world.nodes.main.id, 2);
    // The outage's length is the fault itself; nothing waits on this timer for a condition.
    await pace(RELAY_DOWN_MS);
    const accepting = firstAccept(world.relay.port, 120_000);
    const answering = firstAnswer(`${world.relay.url}/healthz`, 120_000);
    await world.relay.restart();
    const [acceptAt, answerAt] = await Promise.all([accepting, answering]);
    await waitUntil(
      () => linked.every((recorder) => recorder.lines().some(({ at }) => at >= downSince)),
      30_000,
      "every connector to link again",
      20,
    );
    await within(burst, 120_000, "the burst to be answered");
    const servedAt = Math.max(acceptAt, answerAt);
    const after = nodes.map((node, i) => ({
      name: node.name,
      ms: (linked[i].lines().find(({ at }) => at >= downSince)?.at ?? Number.NaN) - servedAt,
    }));
    const slowest = after.reduce((worst, entry) => (entry.ms > worst.ms ? entry : worst));
    if (!(slowest.ms <= RESTART_BOUND_MS)) {
      const late = after.filter((entry) => !(entry.ms <= RESTART_BOUND_MS)).map((e) => `${e.name} ${e.ms} ms`);
      throw new Error(`linked later than ${RESTART_BOUND_MS} ms after the relay answered again: ${late.join(", ")}`);
    }
    return (
      `port accepting ${acceptAt - downSince} ms after the stop, answering ${answerAt - acceptAt} ms later; ` +
      `all ${nodes.length} connectors linked within ${slowest.ms} ms of that (${slowest.ms + servedAt - acceptAt} ms of the port accepting; slowest ${slowest.name})`
    );
  } finally {
    for (const recorder of linked) recorder.stop();
  }
}

/**
 * r-hook's webhook answers 500 to every call for 3 minutes while the senders send to it, at the
 * connector's default hook settings (breaker 5 failures, 30 s open; 10 attempts). Then it is
 * back: nothing may be dead-lettered, everything arrives in lane order (the caller's check),
 * and the first delivery comes within one breaker probe interval + 1 s of the hook's return.
 */
export async function hookOutageLong(world) {
  const node = world.nodes.hook;
  const probeMs = CONNECTOR_DEFAULTS.hookBreakerOpenMs;
  const sentBefore = new Set(world.ledger.messages.keys());
  const opened = node.tap.counter((line) => line.event === "hook_breaker_open");
  const outageStart = Date.now();
  node.hook.mode = "fail";
  let backAt;
  try {
    await world.burst(node.id, 2);
    // More traffic once the breaker has been open and a probe has failed: items that arrive
    // while the hook is down wait behind it too.
    await waitUntil(() => opened.count() >= 2, HOOK_OUTAGE_MS, "the hook breaker to open twice", 100);
    await world.burst(node.id, 1);
    await pace(Math.max(0, outageStart + HOOK_OUTAGE_MS - Date.now()));
  } finally {
    node.hook.mode = "ok";
    backAt = Date.now();
    opened.stop();
  }
  const mine = [...world.ledger.messages.values()].filter((m) => m.to === node.id && !sentBefore.has(m.correlationId));
  const firstAfter = () => world.ledger.deliveries.find((d) => d.hook === node.name && d.at >= backAt);
  await waitUntil(() => firstAfter() !== undefined, probeMs + 30_000, "a delivery after the hook came back", 20);
  const firstMs = firstAfter().at - backAt;
  const deliveredIds = () =>
    new Set(world.ledger.deliveries.filter((d) => d.hook === node.name).map((d) => d.correlationId));
  await waitUntil(
    () => mine.every((m) => deliveredIds().has(m.correlationId)),
    60_000,
    `all ${mine.length} messages to reach r-hook`,
    100,
  );
  const deadLettered = mine.filter((m) => world.ledger.terminalReceipt(m) !== null).length;
  const { json } = await node.connector.status();
  const problems = [];
  if (firstMs > probeMs + 1_000)
    problems.push(`first delivery ${firstMs} ms after the hook came back (bound ${probeMs + 1_000})`);
  if (deadLettered > 0) problems.push(`${deadLettered} terminal receipts`);
  if (json.counts.deadLetters > 0) problems.push(`${json.counts.deadLetters} dead letters at r-hook`);
  if (problems.length > 0) throw new Error(problems.join("; "));
  return `${mine.length} messages through a ${Math.round((backAt - outageStart) / 1000)} s outage, 0 dead letters, first delivery ${firstMs} ms after the hook came back`;
}
