// The targets of issues 7 and 13, checked against one run's results.

const fmt = (value, digits = 1) => (value === null || value === undefined ? "n/a" : value.toFixed(digits));

/** [{ name, goal, measured, met: true | false | null (not measured) }] */
export function checkTargets(results) {
  const targets = [];
  const c32 = results.live?.c32x1;
  if (c32?.baseline && c32?.clawrelay) {
    const ratio = c32.clawrelay.msgsPerSecond / c32.baseline.msgsPerSecond;
    targets.push({
      name: "32 → 1 throughput",
      goal: "clawrelay ≥ 50 % of the baseline's messages/s",
      measured: `${fmt(c32.clawrelay.msgsPerSecond)} vs ${fmt(c32.baseline.msgsPerSecond)} msg/s = ${fmt(100 * ratio)} %`,
      met: ratio >= 0.5,
    });
  } else targets.push({ name: "32 → 1 throughput", goal: "≥ 50 % of baseline", measured: "not run", met: null });

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
        met: ratio >= 0.8,
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
