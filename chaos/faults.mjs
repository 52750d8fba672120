// The faults of the chaos harness (RELIABILITY.md, "How each fault is tested"). Each one
// strikes while traffic flows, heals, and returns; the caller then waits for the world to settle
// and checks the ledger. Every wait here is for an observable condition, never a fixed sleep.
import { fileURLToPath } from "node:url";
import { waitUntil } from "../scripts/lib/connector.mjs";
import { hookOutageLong, relayRestart, sleepActive } from "./faults-timed.mjs";
import { waitForStopped, within } from "./util.mjs";
import { SENDER_COUNT } from "./world.mjs";

const KILL_POINTS = ["before_commit", "after_commit", "after_ack"];
const CONNECTOR_ENTRY = fileURLToPath(new URL("./connector-entry.mjs", import.meta.url));

/** Count a log event across all senders from now on. */
function senderCounter(world, match) {
  const counters = world.senders.map((sender) => sender.tap.counter(match));
  return {
    total: () => counters.reduce((sum, c) => sum + c.count(), 0),
    each: () => counters.map((c) => c.count()),
    stop: () => {
      for (const c of counters) c.stop();
    },
  };
}

/** SIGKILL of the whole wrangler/workerd process group while 8 senders burst, then a restart on the same state. */
async function relayKill(world) {
  const perSender = 6;
  const accepted = senderCounter(world, (line) => line.event === "outbound_sent");
  const threshold = world.random.int(1, (perSender * SENDER_COUNT) / 2);
  const burst = world.burst(world.nodes.main.id, perSender);
  try {
    await waitUntil(() => accepted.total() >= threshold, 60_000, `${threshold} sends accepted by the relay`, 5);
    await within(world.relay.crash(), 15_000, "the killed relay's processes to be gone");
    const killedAfter = accepted.total();
    // The senders' connectors keep answering 202 while the relay is dead.
    await within(burst, 120_000, "the burst to be answered");
    await world.relay.restart();
    return `killed after ${killedAfter} relay-accepted sends`;
  } finally {
    accepted.stop();
  }
}

/**
 * SIGKILL of the recipient connector at a chosen point: restarted through the harness's entry
 * with its stop points armed (connector-entry.mjs --stop-at), the daemon stops itself there and
 * the harness kills it while it is stopped.
 */
async function connectorKill(world, cycle) {
  const node = world.nodes.kill;
  const point = KILL_POINTS[(cycle - 1) % KILL_POINTS.length];
  const occurrence = world.random.int(1, 3);
  await within(node.connector.stop(), 15_000, "r-kill to stop");
  node.connector.options.entry = [CONNECTOR_ENTRY, "--stop-at", `${point}:${occurrence}`];
  await node.connector.start();
  let reached = false;
  let inFlightAtStop = 0;
  const stopped = node.tap.until((line) => line.event === "chaos_stop", 60_000, `the ${point} chaos point`);
  // Traffic until the daemon has stopped at its point: how many deliver frames a burst makes
  // is up to the relay's batching, so a fixed burst might never reach the n-th one.
  const burst = world.burst(node.id, 12, { until: () => reached });
  try {
    const line = await stopped;
    reached = true;
    // A webhook call under way at the stop may have reached the hook without the daemon having
    // recorded it: after the kill, that item goes to the hook once more (RELIABILITY.md).
    world.ledger.excuseKilledMidCall(node.name, line.hookCallsInFlight);
    inFlightAtStop = line.hookCallsInFlight.length;
    await waitForStopped(node.connector, "r-kill");
    if (point === "after_ack") {
      // Between ack and webhook call means the relay has taken the ack: wait until it says so.
      const messageId = line.messageIds[0];
      await waitUntil(
        async () => {
          const res = await world.relay.admin("GET", `/v1/agents/${node.id}/messages/${messageId}`);
          if (!res.ok) return false;
          const record = await res.json();
          return record.state === "acked";
        },
        15_000,
        `the relay to record the ack of ${messageId}`,
        50,
      );
    }
    await within(node.connector.kill(), 10_000, "r-kill to die");
  } finally {
    delete node.connector.options.entry;
  }
  await within(burst, 120_000, "the burst to be answered");
  await node.connector.start();
  return `killed at ${point} (occurrence ${occurrence}, ${inFlightAtStop} webhook call(s) under way)`;
}

/** SIGSTOP of the active connector with a standby present; the standby takes over; then SIGCONT. */
async function failover(world) {
  const agentId = world.nodes.foA.id;
  const [active, standby] = await world.activeAndStandby(agentId, [world.nodes.foA, world.nodes.foB]);
  const before = world.ledger.deliveries.length;
  const threshold = world.random.int(1, 12);
  const reached = () => world.ledger.deliveries.slice(before).filter((d) => d.hook === active.name).length >= threshold;
  const burst = world.burst(agentId, 5);
  await waitUntil(reached, 60_000, `${threshold} deliveries through ${active.name}`, 5);
  await active.connector.signal("SIGSTOP");
  await waitForStopped(active.connector, active.name);
  const stoppedAt = Date.now();
  await world.waitForRole(agentId, standby.name, "active", 30_000);
  const promotedAfter = Date.now() - stoppedAt;
  await burst;
  // New traffic for the promoted connector beside what it inherited from the stalled one.
  await world.burst(agentId, 2);
  await active.connector.signal("SIGCONT");
  await world.waitForRole(agentId, active.name, "standby", 30_000);
  return `stopped ${active.name}, ${standby.name} promoted after ${promotedAfter} ms`;
}

/**
 * The relay down (graceful stop) with every sender still sending through its connector. It stays
 * down until every sender's connector has failed to reach it `tries` times (1–6, random), which
 * takes their outbox breakers through open and half-open; then it restarts on the same state.
 */
async function relayDown(world) {
  await within(world.relay.stop(), 30_000, "wrangler dev to stop");
  const tries = world.random.int(1, 6);
  const retries = senderCounter(world, (line) => line.event === "outbound_retry");
  try {
    const burst = world.burst(world.nodes.main.id, 4);
    await waitUntil(
      () => retries.each().every((n) => n >= tries),
      60_000,
      `every sender to fail ${tries} time(s) against the stopped relay`,
      20,
    );
    await burst;
    await world.relay.restart();
    return `down until every sender failed ${tries} time(s)`;
  } finally {
    retries.stop();
  }
}

/** The agent webhook answers 500s, then hangs past the connector's hook timeout, then recovers. */
async function hookFaults(world) {
  const node = world.nodes.main;
  node.hook.mode = "fail";
  let probes = 0;
  try {
    // An outage long enough for the breaker to open and for several half-open probes to fail.
    probes = world.random.int(2, 8);
    const opened = node.tap.counter((line) => line.event === "hook_breaker_open");
    const burst500 = world.burst(node.id, 3);
    await waitUntil(() => opened.count() > probes, 60_000, `the hook breaker to open ${probes + 1} times`, 20);
    opened.stop();
    await burst500;
    node.hook.mode = "hang";
    const timedOut = node.tap.until(
      (line) => line.event === "hook_retry" && line.reason === "hook_timeout",
      60_000,
      "a hook call to time out",
    );
    const burstHang = world.burst(node.id, 2);
    await timedOut;
    await burstHang;
  } finally {
    node.hook.mode = "ok";
  }
  return `500s until the breaker opened ${probes + 1} times, then timeouts, then recovery`;
}

export const FAULTS = {
  relay_kill: relayKill,
  connector_kill: connectorKill,
  failover,
  relay_down: relayDown,
  hook_faults: hookFaults,
  sleep_active: sleepActive,
  relay_restart: relayRestart,
  hook_outage_long: hookOutageLong,
};

/** Faults that take minutes: they run every `--long-every` cycles (RELIABILITY.md). */
export const LONG_FAULTS = new Set(["hook_outage_long"]);
