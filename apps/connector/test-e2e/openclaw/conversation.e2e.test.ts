import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../../../scripts/lib/connector.mjs";
import { LocalRelay } from "../../../../scripts/lib/relay.mjs";
import { OpenClawAgent, startAgents } from "../../../../scripts/openclaw/agent.mjs";
import { ensureOpenClaw } from "../../../../scripts/openclaw/install.mjs";
import { agentScript, messageTurn, receiptTurn } from "../../../../scripts/openclaw/turns.mjs";
import {
  messageRequests,
  receiptRequests,
  sendArgs,
  sendOutcome,
  sendResults,
  userRequest,
} from "./support/scripts.js";

// Two real OpenClaw gateways (alice's and bob's; their models scripted stand-ins), the clawrelay
// plugin in each, two real connectors in the `openclaw` hook format, one `wrangler dev` relay.
// The gateways boot once for the file (in parallel, ~30 s); each test leaves them running.
const ALICE = "alice-oc";
const BOB = "bob-oc";
/** The session a person talks to alice's agent in, and how it reads inside her gateway. */
const ALICE_SESSION = "hook:test:alice-user";
const ALICE_SESSION_INSIDE = `agent:main:${ALICE_SESSION}`;

const scratch = mkdtempSync(join(tmpdir(), "clawrelay-e2e-openclaw-"));
let relay: LocalRelay;
let alice: OpenClawAgent;
let bob: OpenClawAgent;
/** The conversation alice and bob started in the first test. */
let conversation = "";

/** Hook budgets short enough that a gateway back from an outage gets its backlog in seconds. */
const connectorExtra = { hookBreakerOpenMs: 2_000, hookBackoffBaseMs: 200, hookBackoffMaxMs: 1_000 };

beforeAll(async () => {
  ensureOpenClaw();
  relay = await LocalRelay.start();
  alice = new OpenClawAgent({
    id: ALICE,
    relay,
    dataDir: join(scratch, ALICE),
    connectorExtra,
    script: agentScript({ onUser: userRequest, onMessage: (m) => ({ text: `${m.from} answered.` }) }),
  });
  bob = new OpenClawAgent({
    id: BOB,
    relay,
    dataDir: join(scratch, BOB),
    connectorExtra,
    // Bob's agent answers a greeting, in the conversation it came in; anything else it notes.
    script: agentScript({
      onMessage: (m) =>
        m.body.includes("How are you?") && m.messageId
          ? sendArgs({ inReplyTo: m.messageId, text: `Hi ${m.from}, bob here. All good!` })
          : undefined,
    }),
  });
  await startAgents([alice, bob]);
}, 300_000);

// A failed test shows what each connector and gateway last did (the temp folder goes with afterAll).
afterEach((context) => {
  if (context.task.result?.state !== "fail") return;
  for (const agent of [alice, bob]) {
    if (!agent?.gateway) continue;
    console.error(`--- ${agent.id}: connector log\n${agent.connector.logs.slice(-25).join("\n")}`);
    console.error(`--- ${agent.id}: gateway log\n${agent.gateway.logTail(25)}`);
    const turns = agent.model.requests.map((r) => `${r.sessionKey} ${JSON.stringify(r.userText.slice(-300))}`);
    console.error(`--- ${agent.id}: model requests\n${turns.join("\n")}`);
  }
});

afterAll(async () => {
  await Promise.allSettled([alice?.close(), bob?.close()]);
  await relay?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function connectorStatus(agent: OpenClawAgent) {
  return (await agent.connector.status()).json as {
    counts: { inboxPending: number; deadLetters?: number };
    breakers: { hook: string };
    hook: { format: string; state: "delivering" | "held"; held?: { reason: string; status: number } };
  };
}

async function deadLetters(agent: OpenClawAgent) {
  return (await agent.connector.api<{ items: unknown[] }>("GET", "/v1/dead-letters")).json.items;
}

describe("two OpenClaw gateways talking through clawrelay", () => {
  it("alice's agent greets bob; bob's agent reads it and answers; the answer is a turn in alice's own session", async () => {
    const asked = await alice.ask(ALICE_SESSION, `Please greet ${BOB}.`, { waitForCompletion: true });
    expect(asked).toMatchObject({ status: 200, json: { ok: true, completion: { status: "ok" } } });
    // The plugin's tool queued it with alice's connector (its answer is what the model read).
    const results = sendResults(alice.model);
    expect(results).toEqual([expect.stringMatching(new RegExp(`^Queued for ${BOB}\\.`))]);
    const { outboundId } = sendOutcome(results[0]!);
    let sentId: string | undefined;
    await waitUntil(
      async () => {
        sentId = (await alice.connector.api<{ messageId?: string }>("GET", `/v1/outbound/${outboundId}`)).json
          .messageId;
        return sentId !== undefined;
      },
      30_000,
      "the relay's message id for alice's greeting",
    );

    // Bob's gateway ran a turn whose text names alice and carries her words: it reached his model.
    await bob.model.waitFor((m) => messageRequests(m, ALICE).length >= 1, 60_000, "bob's turn with alice's greeting");
    const greeting = messageTurn(messageRequests(bob.model, ALICE)[0]!.userText)!;
    expect(greeting.body).toBe(`Hello ${BOB}! How are you?`);
    expect(greeting.messageId).toBe(sentId);

    // Bob's answer came back into the session alice's agent sent the greeting from.
    await alice.model.waitFor((m) => messageRequests(m, BOB).length >= 1, 60_000, "alice's turn with bob's answer");
    const [answerRequest] = messageRequests(alice.model, BOB);
    const answer = messageTurn(answerRequest!.userText)!;
    expect(answer.body).toBe(`Hi ${ALICE}, bob here. All good!`);
    expect(answer.inReplyTo).toBe(greeting.messageId);
    // A first message is in its session's conversation with bob (the plugin derives it); the answer stays in it.
    expect(greeting.conversationId).toMatch(/^oc\./);
    expect(answer.conversationId).toBe(greeting.conversationId);
    conversation = answer.conversationId!;
    expect(answerRequest!.sessionKey).toBe(ALICE_SESSION_INSIDE);
    // …with the greeting's turn in that session's history.
    expect(JSON.stringify(answerRequest!.messages)).toContain(`Please greet ${BOB}.`);
  });

  it("bob's gateway down: alice's messages wait in bob's connector, none dead-lettered, and arrive in order once it is back", async () => {
    await bob.gateway.stop();
    for (const n of [1, 2, 3]) {
      const asked = await alice.ask(ALICE_SESSION, `Send ${BOB}: note ${n} of 3`, { waitForCompletion: true });
      expect(asked.status).toBe(200);
    }
    await waitUntil(
      async () => (await connectorStatus(bob)).counts.inboxPending === 3,
      30_000,
      "three items waiting in bob's connector",
    );
    await bob.gateway.start();
    const notes = () =>
      messageRequests(bob.model, ALICE)
        .map((r) => messageTurn(r.userText)!.body)
        .filter((body) => body.startsWith("note "));
    await bob.model.waitFor(() => notes().length >= 3, 90_000, "the three notes at bob's model");
    expect(notes()).toEqual(["note 1 of 3", "note 2 of 3", "note 3 of 3"]);
    expect(await deadLetters(bob)).toEqual([]);
    expect(receiptRequests(alice.model, BOB)).toEqual([]);
  });

  it("a message with ttlSeconds 5 while bob's connector is down: alice's session gets an expired turn naming bob and the conversation", async () => {
    await bob.connector.stop();
    expect(conversation).not.toBe("");
    const asked = await alice.ask(ALICE_SESSION, `Send ${BOB} within 5 s in ${conversation}: are you still there?`, {
      waitForCompletion: true,
    });
    expect(asked.status).toBe(200);
    await alice.model.waitFor(
      (m) => receiptRequests(m, BOB).length >= 1,
      60_000,
      "the expired receipt as a turn in alice's session",
    );
    const [receiptRequest] = receiptRequests(alice.model, BOB);
    const receipt = receiptTurn(receiptRequest!.userText)!;
    expect(receipt.outcome).toMatch(/^expired after /);
    expect(receipt.conversationId).toBe(conversation);
    expect(receiptRequest!.sessionKey).toBe(ALICE_SESSION_INSIDE);
    await bob.connector.start();
  });

  it("a wrong hooks token in bob's connector: its status and log say so, the message waits, and arrives once the token is fixed", async () => {
    const rightToken = bob.gateway.hooksToken;
    bob.setConnectorHooksToken("not-the-hooks-token");
    await bob.connector.stop();
    await bob.connector.start();
    const asked = await alice.ask(ALICE_SESSION, `Send ${BOB}: after the token mix-up`, { waitForCompletion: true });
    expect(asked.status).toBe(200);
    await waitUntil(
      async () => (await connectorStatus(bob)).hook.state === "held",
      30_000,
      "bob's connector status to report the refused token",
    );
    expect((await connectorStatus(bob)).hook.held).toMatchObject({ status: 401 });
    expect(bob.connector.events("hook_auth_refused")).toEqual([expect.objectContaining({ status: 401 })]);
    expect((await connectorStatus(bob)).counts.inboxPending).toBe(1);
    expect(await deadLetters(bob)).toEqual([]);

    bob.setConnectorHooksToken(rightToken);
    await bob.connector.stop();
    await bob.connector.start();
    await bob.model.waitFor(
      (m) => messageRequests(m, ALICE).some((r) => messageTurn(r.userText)?.body === "after the token mix-up"),
      60_000,
      "the held message at bob's model",
    );
  });
});
