// Live traffic: senders POST while the recipients' connectors (or baseline clients) are online.
// Each sender is a closed loop: one POST at a time, the next as soon as the answer arrives.
import { problemsOf, sendMany } from "../lib/load.mjs";
import { ProcessMeter } from "../lib/procstat.mjs";
import { DeliveryTally, latencySummary } from "../lib/stats.mjs";

/**
 * Run `total` messages from `senderCount` senders to `agentCount` recipients (sender i writes to
 * recipient i mod agentCount). Returns throughput, end-to-end latency (POST start → webhook, or
 * → the baseline's WebSocket client) and per-process CPU/memory. `receiverOptions` go to
 * `side.openReceivers`; `onMeasureStart` runs after the warm-up, just before the measured sends,
 * and `onMeasureEnd` once they all arrived, before the meters stop (the cost pass counts there).
 */
export async function runLive(
  side,
  { key, senderCount, agentCount, total, warmup = 1, receiverOptions = {}, onMeasureStart, onMeasureEnd },
) {
  const agentIds = Array.from({ length: agentCount }, (_, j) => `${key}-${side.name === "baseline" ? "b" : "c"}${j}`);
  const senders = await side.senders(senderCount);
  for (const id of agentIds) await side.register(id);
  const tally = new DeliveryTally();
  const receivers = await side.openReceivers(agentIds, tally, receiverOptions);
  try {
    // Warm-up: every sender's first request pays token verification and connection set-up.
    const warm = await sendMany(side, senders, agentIds, senders.length * warmup, { firstIndex: -1_000_000 });
    if (warm.accepted !== warm.sent) throw new Error(`${side.name} ${key} warm-up: ${JSON.stringify(warm.errors)}`);
    await tally.waitFor(warm.accepted, 30_000, `${side.name} ${key} warm-up`);
    tally.reset();
    await onMeasureStart?.();

    const meter = new ProcessMeter([
      ...side.relayTargets(),
      { label: `${side.name} receivers`, pids: receivers.pids },
      { label: "stand-in agent webhook", pids: receivers.hookPids },
      { label: "bench runner", pids: () => [process.pid] },
    ]).start();
    const startedAt = performance.now();
    const result = await sendMany(side, senders, agentIds, total);
    let lost = 0;
    try {
      await tally.waitFor(result.accepted, 30_000, `${side.name} ${key} deliveries`);
    } catch {
      lost = result.accepted - tally.count;
    }
    await onMeasureEnd?.();
    const usage = meter.stop();
    const seconds = ((tally.lastAt ?? performance.now()) - startedAt) / 1000;
    return {
      side: side.name,
      messages: result.accepted,
      // Worker requests the senders made: every POST, the ones answered 503 and tried again too.
      requests: result.sent + result.retried,
      errors: result.errors,
      retried: result.retried,
      duplicates: tally.duplicates,
      lost,
      seconds,
      msgsPerSecond: tally.count / seconds,
      latencyMs: latencySummary(tally.latencies),
      usage,
      problems: problemsOf(`${side.name} ${key}`, { errors: result.errors, lost }),
    };
  } finally {
    await receivers.close();
  }
}
