// The targets of issues 7, 13 and 18, checked against one run's results.
import { cpuMsPerMessage, workerdMs } from "./cost.mjs";

const fmt = (value, digits = 1) => (value === null || value === undefined ? "n/a" : value.toFixed(digits));

/** Issue 18's share of the baseline's messages/s, per live shape. */
export const THROUGHPUT_SHARES = { c32x1: ["32 → 1 throughput", 0.6], c32x32: ["32 → 32 throughput", 0.5] };
/** Issue 18: the relay's CPU per message against the baseline's, and the connector's, in 32 → 1. */
export const RELAY_CPU_RATIO_MAX = 1.5;
export const CONNECTOR_CPU_MS_MAX = 1.0;
const FLAT_BACKLOG_ITEMS = 100_000;

function throughputTarget(live, key) {
  const [name, share] = THROUGHPUT_SHARES[key];
  const goal = `clawrelay ≥ ${fmt(100 * share, 0)} % of the baseline's messages/s`;
  const pair = live?.[key];
  if (!pair?.baseline?.msgsPerSecond || !pair?.clawrelay) return { name, goal, measured: "not run", met: null };
  const ratio = pair.clawrelay.msgsPerSecond / pair.baseline.msgsPerSecond;
  return {
    name,
    goal,
    measured: `${fmt(pair.clawrelay.msgsPerSecond)} vs ${fmt(pair.baseline.msgsPerSecond)} msg/s = ${fmt(100 * ratio)} %`,
    met: ratio >= share,
  };
}

/** Issue 18's CPU targets, on 32 → 1 (the scenario whose cost the issue measured). */
function cpuTargets(live) {
  const pair = live?.c32x1;
  const claw = cpuMsPerMessage(pair?.clawrelay);
  const relay = workerdMs(claw);
  const base = workerdMs(cpuMsPerMessage(pair?.baseline));
  const relayGoal = `clawrelay workerd CPU per message ≤ ${RELAY_CPU_RATIO_MAX}× the baseline's, 32 → 1`;
  const connectorLabel = Object.keys(claw ?? {}).find((label) => label.endsWith(" receivers"));
  const connector = connectorLabel === undefined ? null : claw[connectorLabel];
  const connectorGoal = `connector CPU per message ≤ ${fmt(CONNECTOR_CPU_MS_MAX)} ms, 32 → 1`;
  return [
    relay !== null && base
      ? {
          name: "relay CPU per message",
          goal: relayGoal,
          measured: `${fmt(relay, 2)} vs ${fmt(base, 2)} ms = ${fmt(relay / base, 2)}×`,
          met: relay / base <= RELAY_CPU_RATIO_MAX,
        }
      : { name: "relay CPU per message", goal: relayGoal, measured: "not run", met: null },
    connector !== null
      ? {
          name: "connector CPU per message",
          goal: connectorGoal,
          measured: `${fmt(connector, 2)} ms`,
          met: connector <= CONNECTOR_CPU_MS_MAX,
        }
      : { name: "connector CPU per message", goal: connectorGoal, measured: "not run", met: null },
  ];
}

/** [{ name, goal, measured, met: true | false | null (not measured) }] */
export function checkTargets(results) {
  const targets = [
    throughputTarget(results.live, "c32x1"),
    throughputTarget(results.live, "c32x32"),
    ...cpuTargets(results.live),
  ];

  const seq = results.live?.seq1?.clawrelay;
  targets.push(
    seq
      ? {
          name: "1 sender sequential latency",
          goal: "end-to-end p99 < 50 ms",
          measured: `p99 ${fmt(seq.latencyMs.p99)} ms (p50 ${fmt(seq.latencyMs.p50)})`,
          met: seq.latencyMs.p99 !== null && seq.latencyMs.p99 < 50,
        }
      : { name: "1 sender sequential latency", goal: "p99 < 50 ms", measured: "not run", met: null },
  );

  const sizes = Object.keys(results.backlog ?? {})
    .map(Number)
    .sort((a, b) => a - b);
  const small = results.backlog?.[sizes[0]]?.clawrelay;
  const large = results.backlog?.[sizes[sizes.length - 1]]?.clawrelay;
  for (const [stage, field] of [
    ["relay → connector", "msgsPerSecond"],
    ["connector → agent", "hookMsgsPerSecond"],
  ]) {
    const name = `flat backlog drain, ${stage}`;
    if (small?.[field] && large?.[field] && sizes.length > 1) {
      const ratio = large[field] / small[field];
      targets.push({
        name,
        goal: `${sizes[sizes.length - 1].toLocaleString("en")} items ≥ 80 % of the msg/s of ${sizes[0].toLocaleString("en")}`,
        measured: `${fmt(large[field])} vs ${fmt(small[field])} msg/s = ${fmt(100 * ratio)} %`,
        // Flat "to 100,000" (issue 18): a smaller largest backlog (--quick) shows a fall, never the goal.
        met: ratio < 0.8 ? false : sizes[sizes.length - 1] >= FLAT_BACKLOG_ITEMS ? true : null,
      });
    } else targets.push({ name, goal: "≥ 80 %", measured: "not run", met: null });
  }

  const fo = results.failover;
  targets.push(
    fo?.medianMs !== null && fo?.medianMs !== undefined
      ? {
          name: "failover after SIGKILL",
          goal: "median < 2 s",
          measured: `median ${fmt(fo.medianMs, 0)} ms over ${fo.rounds} (${fo.timesMs.map((t) => t.toFixed(0)).join(", ")} ms)`,
          met: fo.medianMs < 2000,
        }
      : { name: "failover after SIGKILL", goal: "median < 2 s", measured: "not run", met: null },
  );

  targets.push(...timedTargets(results));

  const mem = results.memory;
  targets.push(
    mem
      ? {
          name: "connector memory",
          goal: "peak < 150 MB with 100,000 items in the inbox",
          measured: `${fmt(mem.connectorPeakMiB)} MiB with ${mem.inboxPending.toLocaleString("en")} items`,
          met:
            mem.connectorPeakMiB < 150 && mem.inboxPending >= 100_000
              ? true
              : mem.connectorPeakMiB < 150
                ? null
                : false,
        }
      : { name: "connector memory", goal: "peak < 150 MB", measured: "not run", met: null },
  );
  return targets;
}

export function verdict(met) {
  if (met === true) return "**met**";
  if (met === false) return "**not met**";
  return "not shown by this run";
}

const ms = (values) => values.map((t) => t.toFixed(0)).join(", ");

/** Issue 13's bounds: sleep failover, hook recovery and relay restart, all at the defaults. */
function timedTargets(results) {
  const out = [];
  const sf = results.sleepFailover;
  out.push(
    sf?.medianMs !== null && sf?.medianMs !== undefined
      ? {
          name: "failover from a sleeping connector",
          goal: "median < 10 s, SIGSTOP → first delivery by the standby",
          measured: `median ${fmt(sf.medianMs, 0)} ms over ${sf.rounds} (${ms(sf.firstDeliveryMs)} ms; promoted after ${ms(sf.promotedMs)} ms)`,
          met: sf.medianMs < 10_000,
        }
      : { name: "failover from a sleeping connector", goal: "median < 10 s", measured: "not run", met: null },
  );
  const hr = results.hookRecovery;
  out.push(
    hr?.maxMs !== null && hr?.maxMs !== undefined
      ? {
          name: "hook recovery",
          goal: "< 31 s in every round, webhook back → first delivery",
          measured: `max ${fmt(hr.maxMs, 0)} ms over ${hr.rounds} (${ms(hr.recoveryMs)} ms), ${hr.deadLetters} dead letters`,
          met: hr.maxMs < 31_000 && hr.deadLetters === 0,
        }
      : { name: "hook recovery", goal: "< 31 s", measured: "not run", met: null },
  );
  const rr = results.relayRestart;
  out.push(
    rr?.maxMs !== null && rr?.maxMs !== undefined
      ? {
          name: "relay restart",
          goal: "< 5 s in every round, relay answering again → all connectors linked",
          measured: `max ${fmt(rr.maxMs, 0)} ms over ${rr.rounds} (${ms(rr.allLinkedMs)} ms; ${rr.connectors} connectors, down ${fmt(rr.downMs / 1000, 0)} s)`,
          met: rr.maxMs < 5_000,
        }
      : { name: "relay restart", goal: "< 5 s", measured: "not run", met: null },
  );
  return out;
}
