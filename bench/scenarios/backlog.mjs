// Backlog: items queued while the recipient is offline, then drained after it connects. Only
// the drain is measured, from the session being established (the connector's handshake, or the
// baseline client's upgrade request).
//
// clawrelay drains in two stages, each one queue draining into the next, so that the cost per
// item of each queue shows on its own: (1) relay → connector: the relay's queue into the
// connector's durable inbox, while the agent's webhook holds its first call; (2) connector →
// agent: the webhook is released and the inbox drains into it. Between the stages the inbox
// holds the whole backlog, which is when the connector's memory is measured (its peak RSS since
// it started, both stages included).
import { problemsOf } from "../lib/load.mjs";
import { ProcessMeter } from "../lib/procstat.mjs";
import { DeliveryTally } from "../lib/stats.mjs";

/** Connector settings of this scenario: the held webhook call must not time out while the inbox fills. */
const HOLD_CONFIG = { hookTimeoutMs: 3_600_000 };
const STALL_MS = 30_000;

async function drainBaseline(side, agentId, count) {
  const tally = new DeliveryTally();
  const receivers = await side.openReceivers([agentId], tally);
  const meter = new ProcessMeter([
    ...side.relayTargets(),
    { label: "bench runner", pids: () => [process.pid] },
  ]).start();
  try {
    let lost = 0;
    await tally.waitFor(count, STALL_MS, `baseline drain of ${count}`).catch(() => {
      lost = count - tally.count;
    });
    const usage = meter.stop();
    const seconds = ((tally.lastAt ?? performance.now()) - receivers.connectedAt()) / 1000;
    return {
      seconds,
      msgsPerSecond: tally.count / seconds,
      lost,
      duplicates: tally.duplicates,
      usage,
    };
  } finally {
    await receivers.close();
  }
}

async function drainClawrelay(side, agentId, count) {
  const tally = new DeliveryTally();
  const receivers = await side.openReceivers([agentId], tally, {
    waitActive: false,
    hookMode: "hold",
    extra: HOLD_CONFIG,
  });
  const [connector] = receivers.connectors;
  const meter = new ProcessMeter([
    ...side.relayTargets(),
    { label: "connector", pids: receivers.pids, keepPeak: true },
    { label: "stand-in agent webhook", pids: receivers.hookPids },
    { label: "bench runner", pids: () => [process.pid] },
  ]).start();
  try {
    const problems = [];
    await receivers.stored.waitFor(count, STALL_MS, `relay → connector of ${count}`).catch((error) => {
      problems.push(error.message);
    });
    const storedAt = receivers.stored.lastAt ?? performance.now();
    const connectedAt = receivers.connectedAt() ?? receivers.stored.firstAt;
    const { json } = await connector.status();
    const inboxPending = json.counts?.inboxPending ?? 0;
    const releasedAt = performance.now();
    receivers.hook.release();
    let lost = 0;
    await tally.waitFor(count, STALL_MS, `connector → webhook of ${count}`).catch(() => {
      lost = count - tally.count;
    });
    const usage = meter.stop();
    const relaySeconds = (storedAt - connectedAt) / 1000;
    const hookSeconds = ((tally.lastAt ?? performance.now()) - releasedAt) / 1000;
    return {
      // The relay stage is the one comparable with the baseline (relay → a durable client).
      seconds: relaySeconds,
      msgsPerSecond: receivers.stored.count / relaySeconds,
      hookSeconds,
      hookMsgsPerSecond: tally.count / hookSeconds,
      inboxPending,
      connectorPeakMiB: usage.processes.connector.peakMiB,
      lost,
      duplicates: tally.duplicates,
      usage,
      problems,
    };
  } finally {
    await receivers.close();
  }
}

export async function runBacklog(side, { key, count }) {
  const agentId = `${key}-${side.name === "baseline" ? "b" : "c"}0`;
  await side.register(agentId);
  const builtAt = performance.now();
  const built = await side.fill(agentId, count);
  const buildSeconds = (performance.now() - builtAt) / 1000;
  const drained =
    side.name === "baseline" ? await drainBaseline(side, agentId, count) : await drainClawrelay(side, agentId, count);
  return {
    side: side.name,
    messages: count,
    buildSeconds,
    retried: built?.retried ?? 0,
    ...drained,
    problems: [...(drained.problems ?? []), ...problemsOf(`${side.name} ${key}`, { lost: drained.lost })],
  };
}
