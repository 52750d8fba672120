// The "Cost per message" section of BENCHMARKS.md (the arithmetic is in cost.mjs).
import {
  baselineUnits,
  clawrelayUnits,
  cpuMsPerMessage,
  dollarsPerMillion,
  METRICS_FLUSH_AFTER_MS,
  PRICE_SOURCES,
  PRICES,
  PRICES_DATE,
  SUMMARY_INTERVAL_MS,
  workerdMs,
} from "./cost.mjs";

const n = (value, digits = 2) => (value === null || value === undefined ? "–" : value.toFixed(digits));
const money = (value) => `$${value.toFixed(3)}`;
const price = (value) => `$${value.toFixed(2)}`;

/** Per-message figures of each side and shape: [{ key, side, units, dollars }]. */
export function costRows(results, titles) {
  const rows = [];
  for (const key of Object.keys(titles)) {
    const baseline = results.live?.[key]?.baseline;
    if (baseline?.messages) {
      const units = baselineUnits(baseline);
      rows.push({ key, side: "baseline", units, dollars: dollarsPerMillion(units) });
    }
    const counted = results.cost?.[key];
    if (counted?.messages) {
      const live = results.live?.[key]?.clawrelay;
      const units = clawrelayUnits(counted, workerdMs(cpuMsPerMessage(live)));
      rows.push({ key, side: "clawrelay", units, dollars: dollarsPerMillion(units) });
    }
  }
  return rows;
}

function byType(direction, messages) {
  const entries = Object.entries(direction.byType).sort((a, b) => b[1] - a[1]);
  return entries.map(([type, count]) => `${type} ${n(count / messages, 3)}`).join(", ") || "none";
}

function framesTable(results, titles) {
  const lines = [
    "| scenario | messages | connector → relay, per message (billed 20:1) | relay → connector, per message (not billed) | connector HTTP requests |",
    "|---|---:|---|---|---:|",
  ];
  for (const [key, counted] of Object.entries(results.cost ?? {})) {
    const f = counted.frames;
    lines.push(
      `| ${titles[key] ?? key} | ${counted.messages} | ${n(f.up.dataFrames / counted.messages, 3)}: ${byType(f.up, counted.messages)} | ${n(f.down.dataFrames / counted.messages, 3)}: ${byType(f.down, counted.messages)} | ${f.httpRequests} |`,
    );
  }
  return lines.join("\n");
}

export function costSection(results, titles) {
  const rows = costRows(results, titles);
  if (rows.length === 0) return "Not run.";
  const p = PRICES;
  const table = [
    "| scenario | side | Worker requests | Worker CPU ms | DO RPCs | incoming WebSocket messages | receipt RPCs | alarms + summary reports (derived) | billed DO requests | DO GB-s | $ per million messages |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      ({ key, side, units: u, dollars }) =>
        `| ${titles[key] ?? key} | ${side} | ${n(u.workerRequests, 3)} | ${n(u.workerCpuMs)} | ${n(u.doRpc, 3)} | ${n(u.wsIn, 3)} | ${n(u.receiptRpc, 3)} | ${n(u.background, 4)} | ${n(u.doRequests, 3)} | ${u.doGbSeconds.toExponential(2)} | ${money(dollars.total)} |`,
    ),
  ].join("\n");
  const pairs = Object.keys(titles)
    .map((key) => [
      key,
      rows.find((r) => r.key === key && r.side === "baseline"),
      rows.find((r) => r.key === key && r.side === "clawrelay"),
    ])
    .filter(([, b, c]) => b && c)
    .map(([key, b, c]) => `${titles[key] ?? key} ${n(c.dollars.total / b.dollars.total, 1)}×`);
  return [
    `What one message costs on Cloudflare's Workers Paid plan, per message, at the marginal prices beyond the monthly allotments (the $5 subscription, 10 M Worker requests, 30 M CPU ms, 1 M DO requests and 400,000 GB-s a month are left out). Prices read on **${PRICES_DATE}** from ${PRICE_SOURCES.join(" and ")}: Worker requests ${price(p.workerRequestPerMillion)} per million, Worker CPU ${price(p.workerCpuMsPerMillion)} per million CPU ms, Durable Object requests ${price(p.doRequestPerMillion)} per million (RPC calls, HTTP requests, alarm invocations; incoming WebSocket messages at ${p.wsMessagesPerBilledRequest}:1), DO duration ${price(p.doGbSecondPerMillion)} per million GB-s at the ${p.doMemoryGb * 1024} MB an object is allotted. Storage (SQLite rows read and written, GB-months) is billed apart and is not in this model.`,
    `**Formula.** $ per million messages = ${p.workerRequestPerMillion} × Worker requests + ${p.workerCpuMsPerMillion} × Worker CPU ms + ${p.doRequestPerMillion} × billed DO requests + ${p.doGbSecondPerMillion} × DO GB-s, each per message; billed DO requests = DO RPCs + incoming WebSocket messages / ${p.wsMessagesPerBilledRequest} + receipt RPCs + alarms and summary reports; DO GB-s = active seconds × ${p.doMemoryGb} GB.`,
    table,
    pairs.length > 0 ? `clawrelay / baseline, dollars per message: ${pairs.join(", ")}.` : "",
    "**Counted in this run.** Worker requests: the POSTs the bench made (503s tried again included), plus every HTTP request the connectors made to the relay, counted by the proxy below. Incoming WebSocket messages: the data frames connector → relay. Not counted as billed (an assumption: the pricing page does not say): WebSocket control frames, and the connector's text `ping`, which the runtime answers with `pong` for the session without waking it (setWebSocketAutoResponse); one per connector every 5 s at the default. Receipt RPCs: the receipts queued at the senders' sessions over the pass (each reaches its sender's session as one `acceptReceipt` RPC, session/receipts/courier.ts); the bench's messages ask for none (no `notify`), so only a failure would send one. CPU: the live run's workerd CPU per message (the columns of the live table). Baseline: its POSTs counted; one RPC per POST, no frame from its client and no alarm, read from `bench/baseline/src/index.js`.",
    `**Derived, not counted** (counting them needs a counter in product code): one Worker → session RPC per POST (routes/agents.ts makes exactly one \`session.send\`); alarms, at most one per working session (the recipients', and a sender's only when receipts reached it) per ${METRICS_FLUSH_AFTER_MS / 1000} s of the pass (counters and metrics are written behind and flushed at most that long after the first change, session/write-behind.ts; the alarm is set by session/time/scheduler.ts), and metrics-shard summary reports, at most one per working session per ${SUMMARY_INTERVAL_MS / 1000} s (session/report.ts) — an upper bound (traffic often flushes before the alarm is due) that ignores ack-deadline alarms (at the passes' rates they are small; a session that gets one message per 10 s or fewer pays up to one alarm and one report for each); the Directory's revocation and registry lookups, cached for 30 s per isolate (auth/revocations.ts, auth/registry-binding.ts), so at most a few per 30 s and left out. **Duration** is approximated: a session that accepts its WebSockets for hibernation is billed only while an event runs, and the bench cannot see the DO's active wall time, so its active time is taken as the workerd CPU per message (Worker and DO together, since they share the process: an upper bound for the DO's CPU, a lower bound for its wall time while it waits on nothing but SQLite). The same workerd CPU is used as the Worker CPU, which counts that CPU twice; both lines are small beside the request lines. Under a steady load a busy session is never idle, and the wall-clock bound is then the scenario's seconds × sessions / messages.`,
    "WebSocket frames counted on the clawrelay side, in a pass of its own (its connectors linked through a counting TCP proxy in the bench process, so that the proxy's hop does not touch the live figures); per message, by the frame's `type`, control frames in parentheses and not in the total:",
    framesTable(results, titles),
  ]
    .filter(Boolean)
    .join("\n\n");
}
