// BENCHMARKS.md from one run's results.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/relay.mjs";
import { bridgeSection } from "./bridge-report.mjs";
import { BENCH_CONNECTOR_CONFIG, BENCH_RELAY_VARS, DAEMON_NODE_FLAGS } from "./clawrelay-side.mjs";
import { cpuMsPerMessage, workerdMs } from "./cost.mjs";
import { costSection } from "./cost-report.mjs";
import { profileMarkdown } from "./cpuprofile.mjs";
import { checkTargets, verdict } from "./targets.mjs";

const LIVE_TITLES = {
  seq1: "1 sender, sequential",
  c32x1: "32 senders → 1 agent",
  c32x32: "32 senders → 32 agents",
};

const n = (value, digits = 1) => (value === null || value === undefined ? "–" : value.toFixed(digits));
const int = (value) => (value === null || value === undefined ? "–" : Math.round(value).toLocaleString("en"));

function ratio(pair, field = "msgsPerSecond") {
  if (!pair?.baseline || !pair?.clawrelay || !pair.baseline[field]) return "–";
  return `${(100 * (pair.clawrelay[field] / pair.baseline[field])).toFixed(0)} %`;
}

/** The processes of a live result, as columns: [heading, label suffix]. */
const CPU_COLUMNS = [
  ["relay workerd (Worker + DO)", " workerd"],
  ["relay wrangler (node)", " wrangler (node)"],
  ["connector(s)", " receivers"],
  ["agent webhook", "stand-in agent webhook"],
  ["bench runner", "bench runner"],
];

function cpuCells(side, perMessage) {
  return CPU_COLUMNS.map(([, suffix]) => {
    // The baseline's WebSocket clients run inside the bench runner: it has no process of its own.
    if (side === "baseline" && suffix === " receivers") return "–";
    const label = Object.keys(perMessage ?? {}).find((l) => l.endsWith(suffix));
    return label === undefined ? "–" : n(perMessage[label], 2);
  });
}

function workerdRatio(pair) {
  const claw = workerdMs(cpuMsPerMessage(pair?.clawrelay));
  const base = workerdMs(cpuMsPerMessage(pair?.baseline));
  return claw !== null && base ? `${n(claw / base, 2)}×` : "–";
}

function liveTable(live) {
  const lines = [
    `| scenario | side | messages | msg/s | p50 ms | p95 ms | p99 ms | clawrelay / baseline | ${CPU_COLUMNS.map(([h]) => `${h} CPU ms/msg`).join(" | ")} | workerd CPU / baseline's |`,
    `|---|---|---:|---:|---:|---:|---:|---:|${CPU_COLUMNS.map(() => "---:|").join("")}---:|`,
  ];
  for (const [key, pair] of Object.entries(live)) {
    for (const side of ["baseline", "clawrelay"]) {
      const r = pair[side];
      if (!r) continue;
      const claw = side === "clawrelay";
      lines.push(
        `| ${LIVE_TITLES[key] ?? key} | ${side} | ${int(r.messages)} | ${n(r.msgsPerSecond)} | ${n(r.latencyMs.p50)} | ${n(r.latencyMs.p95)} | ${n(r.latencyMs.p99)} | ${claw ? ratio(pair) : ""} | ${cpuCells(side, cpuMsPerMessage(r)).join(" | ")} | ${claw ? workerdRatio(pair) : ""} |`,
      );
    }
  }
  return lines.join("\n");
}

function backlogTable(backlog) {
  const lines = [
    "| backlog | side | built in s | relay → client: msg/s | s | clawrelay / baseline | connector → agent: msg/s | s |",
    "|---:|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [count, pair] of Object.entries(backlog)) {
    for (const side of ["baseline", "clawrelay"]) {
      const r = pair[side];
      if (!r) continue;
      const claw = side === "clawrelay";
      lines.push(
        `| ${int(Number(count))} | ${side} | ${n(r.buildSeconds)} | ${n(r.msgsPerSecond)} | ${n(r.seconds)} | ${claw ? ratio(pair) : ""} | ${claw ? n(r.hookMsgsPerSecond) : ""} | ${claw ? n(r.hookSeconds) : ""} |`,
      );
    }
  }
  return lines.join("\n");
}

function usageRows(label, usage) {
  return Object.entries(usage?.processes ?? {}).map(
    ([process, u]) => `| ${label} | ${process} | ${n(u.cpuSeconds)} | ${n(u.cpuPercent, 0)} % | ${n(u.peakMiB)} |`,
  );
}

function usageTable(results) {
  const lines = ["| scenario | process | CPU s | CPU (% of one core) | peak RSS MiB |", "|---|---|---:|---:|---:|"];
  for (const [key, pair] of Object.entries(results.live ?? {})) {
    for (const side of ["baseline", "clawrelay"]) {
      if (pair[side]) lines.push(...usageRows(`${LIVE_TITLES[key] ?? key}, ${side}`, pair[side].usage));
    }
  }
  for (const [count, pair] of Object.entries(results.backlog ?? {})) {
    for (const side of ["baseline", "clawrelay"]) {
      if (pair[side]) lines.push(...usageRows(`backlog ${int(Number(count))}, ${side}`, pair[side].usage));
    }
  }
  if (results.failover) lines.push(...usageRows("failover", results.failover.usage));
  if (results.sleepFailover) lines.push(...usageRows("sleep failover", results.sleepFailover.usage));
  if (results.logs) lines.push(...usageRows("32 → 1 at RELAY_LOG_LEVEL=info, clawrelay", results.logs.usage));
  return lines.join("\n");
}

function machineSection(results) {
  const m = results.machine;
  const load = results.load;
  const shared = load?.otherCores !== null && load?.otherCores !== undefined && load.otherCores > 0.2;
  return [
    `- Date: ${results.startedAt} (run took ${n(results.durationSeconds / 60)} min${results.quick ? ", `--quick`" : ""})`,
    `- Machine: \`nproc\` ${m.nproc}, CPU ${m.cpuModel}, ${m.kernel}`,
    `- Node ${m.node}, wrangler ${m.wrangler}`,
    `- Load average before: ${results.loadBefore?.one ?? "?"} / ${results.loadBefore?.five ?? "?"} / ${results.loadBefore?.fifteen ?? "?"}; after: ${results.loadAfter?.one ?? "?"} / ${results.loadAfter?.five ?? "?"} / ${results.loadAfter?.fifteen ?? "?"}`,
    `- CPU used by other processes during the run: ${load?.otherCores === null || load?.otherCores === undefined ? "unknown" : `${n(load.otherCores, 2)} cores on average`} (this run: ${n(load?.ownCores, 2)} cores)${shared ? " — **shared machine: other work ran beside the benchmark, so its figures are lower than on an idle machine**" : ""}`,
    "",
    "`free -m` at the start:",
    "",
    "```",
    m.freeMiB,
    "```",
  ].join("\n");
}

/** CPU milliseconds per message of each process in one live result, as text. */
function cpuPerMessage(result) {
  return Object.entries(cpuMsPerMessage(result) ?? {})
    .map(([process, ms]) => `${process} ${n(ms, 2)} ms`)
    .join(", ");
}

function logsSection(results) {
  const atInfo = results.logs;
  const atWarn = results.live?.c32x1?.clawrelay;
  if (!atInfo) return "Not run.";
  const lines = [
    `The tables above run the relay with \`RELAY_LOG_LEVEL=warn\`. At the default, \`info\`, every message writes four JSON lines (request, enqueued, acked, receipt); under \`wrangler dev\` each \`console.log\` is also parsed and source-mapped by wrangler's Node process, which production does not have. 32 → 1 again at \`info\` (${int(atInfo.messages)} messages):`,
    "",
    "| log level | msg/s | p50 ms | p99 ms | CPU per message |",
    "|---|---:|---:|---:|---|",
  ];
  if (atWarn) {
    lines.push(
      `| warn | ${n(atWarn.msgsPerSecond)} | ${n(atWarn.latencyMs.p50)} | ${n(atWarn.latencyMs.p99)} | ${cpuPerMessage(atWarn)} |`,
    );
  }
  lines.push(
    `| info | ${n(atInfo.msgsPerSecond)} | ${n(atInfo.latencyMs.p50)} | ${n(atInfo.latencyMs.p99)} | ${cpuPerMessage(atInfo)} |`,
  );
  return lines.join("\n");
}

function failoverSection(fo) {
  if (!fo) return "Not run.";
  return [
    `Two connectors for one agent, one message every 20 ms; SIGKILL of the active connector, measured to the first webhook call made by the standby. Rounds: ${fo.timesMs.map((t) => `${t.toFixed(0)} ms`).join(", ")}; **median ${n(fo.medianMs, 0)} ms**.`,
    `${int(fo.messages)} messages accepted during the rounds, ${fo.lost} lost, ${fo.duplicates} delivered twice (at-least-once across a crash: items a killed connector had stored but not yet acknowledged go to the standby too).`,
  ].join("\n\n");
}

function timedSection(results) {
  const parts = [];
  const sf = results.sleepFailover;
  parts.push(
    sf
      ? `**Sleep failover.** Two connectors for one agent at their defaults (ping every 5 s), the relay at its default \`RELAY_FAILOVER_AFTER_MS\` (10 s), one message every 20 ms; SIGSTOP of the active connector (its socket stays open, as on a machine gone to sleep). Promoted after ${sf.promotedMs.map((t) => `${t.toFixed(0)} ms`).join(", ")}; first delivery by the standby after ${sf.firstDeliveryMs.map((t) => `${t.toFixed(0)} ms`).join(", ")}; **median ${n(sf.medianMs, 0)} ms**. The relay judges the last ping, which is up to one ping interval older than the stop, so the promotion comes 5–10 s after it. ${int(sf.messages)} messages accepted, ${sf.lost} lost, ${sf.duplicates} delivered by both connectors (what the sleeper had stored, delivered once it woke).`
      : "**Sleep failover.** Not run.",
  );
  const hr = results.hookRecovery;
  parts.push(
    hr
      ? `**Hook recovery.** One connector at its default hook settings (breaker after 5 failures, open ${n(hr.probeMs / 1000, 0)} s, one probe), a message every 100 ms; the webhook answers 500 until the breaker has opened, and a random part of a probe interval longer; then it is back. Back → first delivery: ${hr.recoveryMs.map((t) => `${t.toFixed(0)} ms`).join(", ")} (**max ${n(hr.maxMs, 0)} ms**; at most one probe interval plus the call). ${int(hr.messages)} messages, ${hr.deadLetters} dead letters, ${hr.lost} lost.`
      : "**Hook recovery.** Not run.",
  );
  const rr = results.relayRestart;
  parts.push(
    rr
      ? `**Relay restart.** ${rr.connectors} connectors at their default reconnect settings; the relay's \`wrangler dev\` stopped, down ${n(rr.downMs / 1000, 0)} s, restarted on the same state. From its first answer to a request to the last connector linked (\`link_connected\`): ${rr.allLinkedMs.map((t) => `${t.toFixed(0)} ms`).join(", ")} (**max ${n(rr.maxMs, 0)} ms**); from its port accepting a TCP connection, which \`wrangler dev\` does before its Worker can answer: ${rr.fromAcceptMs.map((t) => `${t.toFixed(0)} ms`).join(", ")}. For 2 min after a session ends the connector's backoff draws stay under 2 s (apps/connector/README.md, "Relay link").`
      : "**Relay restart.** Not run.",
  );
  return parts.join("\n\n");
}

function memorySection(mem) {
  if (!mem) return "Not run.";
  return `Measured during the largest backlog: after the relay → connector stage the inbox held ${int(mem.inboxPending)} items (of ${int(mem.messages)}); **connector peak RSS ${n(mem.connectorPeakMiB)} MiB** (VmHWM since the process started, both stages included).`;
}

function profileSection(profile) {
  if (!profile) return "Not run.";
  const parts = [
    `32 → 1 with profilers attached (${int(profile.messages)} messages; ${n(profile.msgsPerSecond)} msg/s under the profilers, not comparable to the table above). Raw profiles: \`${profile.dir.replace(`${ROOT}/`, "")}\` (open in Chrome DevTools).`,
  ];
  if (profile.worker) parts.push(profileMarkdown("Worker + relay session (workerd isolate)", profile.worker));
  if (profile.connector) parts.push(profileMarkdown("Connector (node --cpu-prof)", profile.connector));
  return parts.join("\n\n");
}

export function renderReport(results) {
  const targets = checkTargets(results);
  const notesFile = join(ROOT, "bench/NOTES.md");
  const notes = existsSync(notesFile) ? readFileSync(notesFile, "utf8").trim() : "";
  const sections = [
    "# Benchmarks",
    `Written by \`pnpm bench${results.quick ? " --quick" : ""}\` (bench/run.mjs); every figure below comes from the run described here. The targets of issues 7, 13 and 18 are checked at the end of the run, and a full run exits non-zero when one is not met; CI runs \`pnpm bench --quick\`, which reports them as a smoke check without thresholds.`,
    "## Run",
    machineSection(results),
    "## Targets",
    [
      "| target | goal | measured | verdict |",
      "|---|---|---|---|",
      ...targets.map((t) => `| ${t.name} | ${t.goal} | ${t.measured} | ${verdict(t.met)} |`),
    ].join("\n"),
    "## What is measured",
    [
      "- **baseline** (`bench/baseline/`): a minimal Worker doing the least the trip needs — POST → Durable Object SQL insert → push on a hibernatable WebSocket to a Node client in the bench process; no auth, no queue rules, no acks.",
      "- **clawrelay**: signed POSTs (Ed25519, made in the bench process) through the proxy Worker and the relay session (nonce, policy, rate limit, caps, queue, records), delivery to a real connector process that stores the item in SQLite (synchronous=FULL) before acking it, then hands it to a stand-in agent webhook, one call at a time (the default hook concurrency). The webhook runs in its own process, as an agent does (in the bench process it would answer only as fast as the 32 senders there let it).",
      "- Both run under their own `wrangler dev --log-level warn` on this machine, side by side, scenarios interleaved (baseline, then clawrelay) so background load hits both alike.",
      "- End-to-end latency: from the start of the POST to the webhook call (baseline: to the WebSocket client), on the machine's clock. Live senders are closed loops (next POST when the answer arrived); warm-up messages are not counted.",
      "- Backlog: built while the recipient is offline (clawrelay: signed POSTs from 32 senders; baseline: inserted inside its Durable Object), then drained after it connects. clawrelay drains in two stages, so that each queue's cost per item shows on its own: relay → connector (from the handshake to the last item committed in the connector's inbox, while the webhook holds its first call) and connector → agent (from releasing the webhook to its last call). The baseline's client only receives (no store, no ack), from its upgrade request.",
      `- Settings changed for the bench relay only, so that PROTOCOL.md §5's defaults and wrangler's log pipe do not measure themselves: ${Object.entries(
        BENCH_RELAY_VARS,
      )
        .map(([k, v]) => `\`${k}=${v}\``)
        .join(", ")}; connector ${Object.entries(BENCH_CONNECTOR_CONFIG)
        .map(([k, v]) => `\`${k}: ${v}\``)
        .join(", ")}. Everything else is at its default (hook concurrency 1, in-flight window 256, 64 items a frame).`,
      `- Connectors run as their service units run them: \`node ${DAEMON_NODE_FLAGS.join(" ")}\` (V8 heap limits; without them Node sizes its heap for the machine and grows it lazily).`,
      "- CPU: user + system seconds per process over the scenario (from /proc), and as a share of one core; peak RSS is VmHWM, reset at the start of each scenario.",
    ].join("\n"),
    "## Live traffic",
    "CPU ms/msg: the CPU seconds (user + system, from /proc) each process used over the scenario, divided by its messages. The relay's workerd runs the Worker and its Durable Objects in one process; the connector column is the recipients' connector processes together; the baseline has none (its WebSocket clients run in the bench runner, which also signs and sends every POST).",
    liveTable(results.live ?? {}),
    "## Cost per message",
    costSection(results, LIVE_TITLES),
    "## Per-message logs",
    logsSection(results),
    "## Backlog drain",
    backlogTable(results.backlog ?? {}),
    "## Failover",
    failoverSection(results.failover),
    "## Sleep failover, hook recovery, relay restart",
    timedSection(results),
    "## Connector memory",
    memorySection(results.memory),
    "## CPU and memory per process",
    usageTable(results),
    "## Profile",
    profileSection(results.profile),
    "## OpenClaw bridge",
    bridgeSection(),
  ];
  if (notes) sections.push(notes);
  if (results.problems.length > 0) {
    sections.push("## Problems in this run", results.problems.map((p) => `- ${p}`).join("\n"));
  }
  return `${sections.join("\n\n")}\n`;
}
