#!/usr/bin/env node
// `npm run demo:openclaw`: two real OpenClaw gateways, alice's and bob's, talking through a
// local relay (wrangler dev). Each gateway has the clawrelay plugin and a real connector in the
// `openclaw` hook format; their model is a scripted stand-in (no model provider, no network).
// A person asks alice's agent to greet bob; bob's agent answers; the answer comes back into
// the session alice's agent was asked in. Then a message that expires while bob's connector is
// offline comes back to alice's session as a receipt turn. Every turn each gateway runs, every
// tool call and every receipt is printed as it happens. Runs until Ctrl-C.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./lib/connector.mjs";
import { LocalRelay, ROOT } from "./lib/relay.mjs";
import { OpenClawAgent, startAgents } from "./openclaw/agent.mjs";
import { ensureOpenClaw } from "./openclaw/install.mjs";
import { agentScript, hookText, messageTurn, receiptTurn } from "./openclaw/turns.mjs";

const home = join(ROOT, ".clawrelay/demo-openclaw");
const ALICE = "alice";
const BOB = "bob";
const SESSION = "hook:demo:alice-user";
const color = process.stdout.isTTY ? (code, text) => `\x1b[${code}m${text}\x1b[0m` : (_code, text) => text;
const say = (text) => console.log(`${color("2", new Date().toISOString().slice(11, 23))}  ${text}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const oneLine = (text, max = 140) => {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

// A fresh relay queue, fresh connector stores and fresh gateways each run; identities are kept.
rmSync(join(home, "state"), { recursive: true, force: true });
for (const id of [ALICE, BOB]) rmSync(join(home, `data-${id}`), { recursive: true, force: true });

let relay = null;
const agents = [];
let stopping = false;
// The relay, connectors and gateways run in their own process groups and would outlive this
// script: stop them on Ctrl-C, SIGTERM, a failed step and a normal exit alike.
async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  say("stopping (gateways get up to 10 s each) …");
  await Promise.allSettled(agents.map((a) => a.close()));
  await relay?.stop();
  process.exit(code);
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));
const fail = (error) => {
  if (stopping) return; // a gateway stopped mid-boot by Ctrl-C fails its start: that is no failure
  console.error(`demo failed: ${error instanceof Error ? error.message : error}`);
  for (const a of agents) if (process.env.DEMO_DEBUG && a.gateway) console.log(a.gateway.logTail(40));
  void shutdown(1);
};
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

/** Print what a gateway hands its model (a turn) and what the model answers (the agent's act). */
function narrate(agent, tint) {
  const who = color(tint, `[${agent.id}'s gateway]`);
  agent.model.onRequest = (request) => {
    const session = color("2", `session ${request.sessionKey ?? "?"}`);
    if (request.toolResults.length > 0) {
      say(`${who} tool result: ${oneLine(request.toolResults.at(-1) ?? "")}`);
    } else {
      const message = messageTurn(request.userText);
      const receipt = receiptTurn(request.userText);
      if (message) say(`${who} turn: message from ${message.from} "${oneLine(message.body)}"  ${session}`);
      else if (receipt) say(`${who} turn: ${color("31", "receipt")} ${oneLine(receipt.text, 200)}  ${session}`);
      else say(`${who} turn: user says "${oneLine(hookText(request.userText))}"  ${session}`);
    }
    const answer = request.answer;
    if (answer?.tool) say(`${who}   agent calls ${answer.tool} ${JSON.stringify(answer.args)}`);
    else if (answer) say(`${who}   agent replies "${oneLine(answer.text)}"`);
  };
}

/** The connector's view of the trip: sent to the relay, stored from it, handed to the gateway, receipts. */
function travel(id) {
  const who = color("36", `[${id}'s connector]`);
  return (line) => {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      return; // not a JSON line
    }
    if (process.env.DEMO_DEBUG) say(`${who} ${line}`);
    const ref = color("2", `message ${entry.messageId ?? "?"}`);
    if (entry.event === "outbound_sent") say(`${who} relay accepted it for ${entry.to}  ${ref}`);
    else if (entry.event === "inbound_stored") say(`${who} message from ${entry.from} stored  ${ref}`);
    else if (entry.event === "hook_delivered" && entry.kind === "message") {
      say(`${who} the gateway finished its turn (/hooks/agent ${entry.status})  ${ref}`);
    } else if (entry.event === "receipt_received") say(`${who} ${color("1", `receipt ${entry.status}`)}  ${ref}`);
    else if (entry.event === "hook_delivered" && entry.kind === "receipt") {
      say(`${who} the gateway finished the receipt's turn  ${ref}`);
    } else if (entry.event === "expired_while_offline") say(`${who} back: it expired at the relay meanwhile  ${ref}`);
  };
}

ensureOpenClaw({ log: say });
say("starting the relay (wrangler dev, local persistence) …");
relay = await LocalRelay.start({ home, port: Number(process.env.PORT ?? (await freePort())) });
say(`relay up at ${color("1", relay.url)}`);

const alice = new OpenClawAgent({
  id: ALICE,
  relay,
  dataDir: join(home, `data-${ALICE}`),
  onConnectorLog: travel(ALICE),
  script: agentScript({
    onUser: (text) => {
      const ttl = /^Ask (\S+) within (\d+) s: (.+)$/.exec(text);
      if (ttl) return { tool: "clawrelay_send", args: { to: ttl[1], text: ttl[3], ttlSeconds: Number(ttl[2]) } };
      // Receipts of delivery and processing too, not only of failures: they show the trip.
      const greeting = { to: BOB, text: "Hello bob! How are you?", notify: ["delivered", "processed"] };
      if (/greet bob/.test(text)) return { tool: "clawrelay_send", args: greeting };
      return undefined;
    },
    onMessage: (m) => ({ text: `${m.from} says: ${m.body}` }),
    onReceipt: (r) => ({ text: `Heads-up: my message to ${r.peer} ${r.outcome}` }),
  }),
});
const bob = new OpenClawAgent({
  id: BOB,
  relay,
  dataDir: join(home, `data-${BOB}`),
  onConnectorLog: travel(BOB),
  script: agentScript({
    onMessage: (m) =>
      m.messageId && m.body.includes("How are you?")
        ? { tool: "clawrelay_send", args: { inReplyTo: m.messageId, text: `Hi ${m.from}, bob here. All good!` } }
        : undefined,
  }),
});
agents.push(alice, bob);
narrate(alice, "32");
narrate(bob, "35");
say("booting two OpenClaw gateways and their connectors (about 30 s) …");
await startAgents(agents);
for (const a of agents) say(`${a.id}: gateway ${a.gateway.url}, connector ${a.connector.url}`);

say(color("1", `— a person asks alice's agent (session ${SESSION}) to greet bob`));
await alice.ask(SESSION, "Please greet bob.", { waitForCompletion: true });
await alice.model.waitFor((m) => m.requests.some((r) => messageTurn(r.userText)?.from === BOB), 90_000, "bob's answer");

say(color("1", "— bob's connector goes offline; alice's agent sends something that expires in 5 s"));
await bob.connector.stop();
await alice.ask(SESSION, "Ask bob within 5 s: lunch at noon?", { waitForCompletion: true });
await alice.model.waitFor((m) => m.requests.some((r) => receiptTurn(r.userText)), 90_000, "the expiry receipt");
await bob.connector.start();
await sleep(500);

say(color("1", "— done; both gateways, connectors and the relay keep running. Ctrl-C to stop."));
if (process.env.CLAWRELAY_DEMO_EXIT) await shutdown();
await new Promise(() => {});
