#!/usr/bin/env node
// `npm run demo`: a local relay (wrangler dev) with two real connectors, alice and bob, each
// with a stand-in agent webhook. Sends messages of each priority, takes bob offline and back to
// show the reconnect handshake, lets one message expire to show its receipt, and prints every
// delivery and receipt as it happens. Runs until Ctrl-C.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ConnectorProcess, freePort } from "./lib/connector.mjs";
import { StandInHook } from "./lib/hook.mjs";
import { LocalRelay, ROOT } from "./lib/relay.mjs";

const home = join(ROOT, ".clawrelay/demo");
const color = process.stdout.isTTY ? (code, text) => `\x1b[${code}m${text}\x1b[0m` : (_code, text) => text;
const say = (text) => console.log(`${color("2", new Date().toISOString().slice(11, 23))}  ${text}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A fresh queue each run; identities and keys are kept.
rmSync(join(home, "state"), { recursive: true, force: true });
for (const id of ["alice", "bob"]) rmSync(join(home, `data-${id}`), { recursive: true, force: true });

const hooks = {};
const connectors = {};
let relay = null;

// Whatever happens (Ctrl-C, SIGTERM, a failed step), the relay and connectors run in their own
// process groups and would outlive this script: stop them first.
let stopping = false;
async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  say("stopping …");
  await Promise.allSettled(Object.values(connectors).map((c) => c.stop()));
  await relay?.stop();
  await Promise.allSettled(Object.values(hooks).map((h) => h.close()));
  process.exit(code);
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));
// A failed step (a rejected top-level await arrives here as an uncaught exception).
const fail = (error) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : error}`);
  if (process.env.DEMO_DEBUG && relay) console.log(relay.output.join(""));
  void shutdown(1);
};
process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

say("starting the relay (wrangler dev, local persistence) …");
const port = Number(process.env.PORT ?? (await freePort()));
relay = await LocalRelay.start({ home, port, ...(process.env.DEMO_DEBUG ? { logLevel: "info" } : {}) });
say(`relay up at ${color("1", relay.url)}   admin token: ${join(home, "admin-token")}`);

for (const id of ["alice", "bob"]) {
  const hook = await new StandInHook().start();
  hook.onCall = (call) => {
    const { body } = call;
    if (body.type === "clawrelay.message.v1") {
      const item = body.item;
      say(
        `${color("32", `[${id}] ← message`)} from ${item.from} ${color("1", item.priority.padEnd(8))} ${JSON.stringify(item.payload)}  ${color("2", `corr ${item.correlationId}`)}`,
      );
    } else {
      const r = body.receipt;
      const tint = ["expired", "shed", "dead_lettered", "failed"].includes(r.status) ? "31" : "36";
      say(
        `${color(tint, `[${id}] ← receipt ${r.status}`)} for ${r.messageId}${r.reason ? ` (${r.reason})` : ""}  ${color("2", `corr ${r.correlationId}`)}`,
      );
    }
  };
  hooks[id] = hook;
  connectors[id] = new ConnectorProcess({
    agentId: id,
    identityDir: relay.agent(id),
    relayUrls: [relay.url],
    hookUrl: hook.url,
    dataDir: join(home, `data-${id}`),
    connectorId: `${id}-laptop`,
  });
  connectors[id].onLog = (line) => {
    try {
      const entry = JSON.parse(line);
      if (process.env.DEMO_DEBUG && /link|close|heartbeat|error/.test(entry.event)) say(`[${id}] ${line}`);
      if (entry.event === "link_connected") {
        say(
          color(
            "33",
            `[${id}] handshake: role ${entry.role}, queued ${entry.queuedCount} ${JSON.stringify(entry.lanes)}, expired ${entry.expiredCount}`,
          ),
        );
      }
    } catch {
      // not a JSON line
    }
  };
  await connectors[id].start();
  say(`connector ${id} up, local API ${connectors[id].url}`);
}

async function send(text, priority, extra = {}) {
  const { status, json } = await connectors.alice.send("bob", { text }, { priority, notify: ["delivered"], ...extra });
  say(
    `[alice] → bob ${priority.padEnd(8)} "${text}" → ${status} ${json.state ?? ""} ${color("2", `corr ${json.correlationId}`)}`,
  );
  return json;
}

say(color("1", "— alice sends one message of each priority"));
await send("low-priority digest", "low");
await send("normal status update", "normal");
await send("critical: disk almost full", "critical");
await hooks.bob.waitFor((h) => h.messages().length >= 3, 30_000, "bob's first three messages");

say(color("1", "— bob goes offline; alice keeps sending"));
await connectors.bob.stop();
await send("sent while bob sleeps (low)", "low");
await send("sent while bob sleeps (normal)", "normal");
await send("sent while bob sleeps (critical)", "critical");
await send("this one expires in 3 s", "normal", { ttlSeconds: 3 });
await sleep(5_000);

say(color("1", "— bob comes back: the handshake says what waited and what expired"));
await connectors.bob.start();
await hooks.bob.waitFor((h) => h.messages().length >= 6, 60_000, "bob's queued messages");
await hooks.alice.waitFor(
  (h) => h.receipts().some((r) => r.body.receipt?.status === "expired"),
  60_000,
  "alice's expiry receipt",
);

say(color("1", "— demo traffic done; the relay and both connectors keep running. Ctrl-C to stop."));
say(`try: curl -s -H "authorization: Bearer $(cat ${join(home, "admin-token")})" ${relay.url}/v1/agents/bob/status`);

if (process.env.CLAWRELAY_DEMO_EXIT) await shutdown();
await new Promise(() => {});
