#!/usr/bin/env node
// The OpenClaw bridge (not part of `pnpm bench` or CI): how long bob's connector takes from
// having an item in its inbox to the answer of a real OpenClaw gateway's `POST /hooks/agent`,
// with the stand-in model's own time taken out. Alice is a plain connector; bob has a gateway.
// Messages go one at a time (each in its own session), so no item waits behind another.
//   node bench/scenarios/openclaw-bridge.mjs [--messages 20] [--mode turn|admit|both]
// turn: waitForCompletion (the connector's default; the answer comes after the agent's turn);
// admit: the gateway answers once the run is admitted.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConnectorProcess, waitUntil } from "../../scripts/lib/connector.mjs";
import { StandInHook } from "../../scripts/lib/hook.mjs";
import { LocalRelay } from "../../scripts/lib/relay.mjs";
import { OpenClawAgent } from "../../scripts/openclaw/agent.mjs";
import { ensureOpenClaw } from "../../scripts/openclaw/install.mjs";
import { agentScript, messageTurn } from "../../scripts/openclaw/turns.mjs";
import { BRIDGE_RESULTS_FILE } from "../lib/bridge-report.mjs";
import { installCleanup, trackGroup, trackProcess } from "../lib/cleanup.mjs";
import { loadAverage, machineInfo } from "../lib/machine.mjs";
import { latencySummary, round } from "../lib/stats.mjs";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "20" },
    mode: { type: "string", default: "both" },
    // Where the figures go: BENCHMARKS.md's "OpenClaw bridge" section is rendered from this file.
    out: { type: "string", default: BRIDGE_RESULTS_FILE },
  },
});
const count = Number(values.messages);
const modes = values.mode === "both" ? ["turn", "admit"] : [values.mode];
const progress = (text) =>
  process.stderr.write(`[openclaw-bridge ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

/** One message from alice to bob, timed from bob's connector's own records of it. */
async function measureOne(alice, bob, n) {
  const sent = await alice.send(bob.id, { text: `bench ${n}` });
  if (sent.status !== 202) throw new Error(`send ${n} answered ${sent.status}`);
  let messageId = null;
  await waitUntil(
    async () => {
      messageId = (await alice.api("GET", `/v1/outbound/${sent.json.outboundId}`)).json.messageId ?? null;
      return messageId !== null;
    },
    30_000,
    `message id of ${n}`,
  );
  const onModel = (m) => m.requests.filter((r) => messageTurn(r.userText)?.messageId === messageId);
  // The turn's model requests and the delivery both done (admitted runs go on after the answer).
  await bob.model.waitFor((m) => onModel(m).length >= 1, 60_000, `bob's turn for ${n}`);
  let trace = null;
  await waitUntil(
    async () => {
      trace = (await bob.connector.api("GET", `/v1/trace/${messageId}`)).json;
      return trace.hops?.some((h) => h.hop === "hook_delivered");
    },
    60_000,
    `delivery of ${n}`,
  );
  const received = trace.inbound.find((i) => i.messageId === messageId)?.receivedAt;
  const answered = trace.hops.find((h) => h.hop === "hook_delivered").at;
  const modelMs = onModel(bob.model)
    .filter((r) => r.at <= answered)
    .reduce((sum, r) => sum + Math.max(0, (r.answeredAt ?? r.at) - r.at), 0);
  return { totalMs: answered - received, modelMs, bridgeMs: answered - received - modelMs };
}

installCleanup();
const scratch = mkdtempSync(join(tmpdir(), "clawrelay-bench-openclaw-"));
let relay = null;
let bob = null;
let alice = null;
let aliceHook = null;
const results = {};
const startedAt = new Date().toISOString();
const loadBefore = loadAverage();
try {
  ensureOpenClaw();
  relay = await LocalRelay.start();
  trackGroup(relay.pid);
  aliceHook = await new StandInHook().start();
  alice = new ConnectorProcess({
    agentId: "alice-bench",
    identityDir: relay.agent("alice-bench"),
    relayUrls: [relay.url],
    hookUrl: aliceHook.url,
    dataDir: join(scratch, "alice"),
  });
  trackProcess(() => alice.pid);
  await alice.start();
  for (const mode of modes) {
    bob = new OpenClawAgent({
      id: "bob-bench",
      relay,
      dataDir: join(scratch, `bob-${mode}`),
      script: agentScript(),
      openclaw: { waitForCompletion: mode === "turn" },
    });
    await bob.prepare();
    progress(`mode ${mode}: booting bob's gateway …`);
    await bob.start();
    trackGroup(bob.gateway.pid);
    const connector = bob.connector;
    trackProcess(() => connector.pid);
    // The first turn of a fresh gateway builds its tool catalog and session store: not a steady figure.
    const warm = await measureOne(alice, bob, 0);
    progress(`mode ${mode}: warm-up ${round(warm.totalMs)} ms`);
    const samples = [];
    for (let n = 1; n <= count; n++) samples.push(await measureOne(alice, bob, n));
    results[mode] = {
      bridge: latencySummary(samples.map((s) => s.bridgeMs)),
      total: latencySummary(samples.map((s) => s.totalMs)),
      model: latencySummary(samples.map((s) => s.modelMs)),
      warmUpMs: warm.totalMs,
    };
    progress(`mode ${mode}: ${JSON.stringify(results[mode].bridge)}`);
    await bob.close();
    bob = null;
  }
  const machine = machineInfo();
  const report = {
    date: startedAt,
    machine: { nproc: machine.nproc, cpuModel: machine.cpuModel, node: machine.node, kernel: machine.kernel },
    loadBefore,
    loadAfter: loadAverage(),
    messages: count,
    results,
  };
  writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
} finally {
  await bob?.close();
  await alice?.kill();
  await aliceHook?.close();
  await relay?.stop();
  rmSync(scratch, { recursive: true, force: true });
}
