import { SUMMARY_INTERVAL_MS } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import type { StatusAggregate } from "../../src/metrics/operator-status.js";
import { adminCall, type TestAgent } from "../support/agents.js";
import { knownAgent, messageRecord, sendOk } from "../support/session.js";
import { advanceClock, connect, fireAlarm } from "../support/socket.js";
import { parseExposition, sampleValue } from "./exposition.js";

async function status(): Promise<StatusAggregate> {
  const res = await adminCall("GET", "/v1/status");
  expect(res.status).toBe(200);
  return (await res.json()) as StatusAggregate;
}

async function failuresCounted(agent: TestAgent, kind: string): Promise<number | undefined> {
  const res = await adminCall("GET", "/v1/metrics");
  expect(res.status).toBe(200);
  return sampleValue(parseExposition(await res.text()), "clawrelay_agent_failures_total", { agent: agent.id, kind });
}

async function listed(agent: TestAgent, messageId: string): Promise<string[]> {
  return (await status()).recentFailures
    .filter((f) => f.agentId === agent.id && f.messageId === messageId)
    .map((f) => f.status);
}

/** Let the session's next summary be due and wake it, so it reports what it holds now. */
async function nextSummary(agent: TestAgent): Promise<void> {
  await advanceClock(agent.id, SUMMARY_INTERVAL_MS + 1);
  await fireAlarm(agent.id);
}

// Issue 17: a dead letter replayed at the connector and then delivered to the hook comes back as
// a `processed` frame with outcome `processed` for a message that is already terminal. It leaves
// the recent failures; it keeps its one terminal receipt (PROTOCOL.md §7) and its count.
describe("recent failures drop a failure once it is resolved", () => {
  it("a dead-lettered message processed after a replay leaves recentFailures at the next summary, still counted", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: "to replay" });
    await socket.items(1);
    socket.send({ type: "processed", id: sent.messageId, outcome: "dead_lettered", reason: "hook_max_attempts" });
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("dead_lettered");

    await nextSummary(bob);
    await expect.poll(() => listed(bob, sent.messageId)).toEqual(["dead_lettered"]);
    expect(await failuresCounted(bob, "dead_lettered")).toBe(1);

    // The operator replayed it (`clawrelay dead-letters --replay`) and the hook took it.
    socket.send({ type: "processed", id: sent.messageId, outcome: "processed" });
    await nextSummary(bob);
    await expect.poll(() => listed(bob, sent.messageId)).toEqual([]);
    expect(await failuresCounted(bob, "dead_lettered")).toBe(1);

    // History is history: the record still says dead_lettered, with that one terminal receipt.
    const record = (await messageRecord(alice, bob, sent.messageId)).json;
    expect(record.state).toBe("dead_lettered");
    expect(record.receipts.map((r) => r.status)).toEqual(["dead_lettered"]);
    socket.close();
  });

  it("a later failed report for a dead-lettered message resolves nothing", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket } = await connect(bob);
    const sent = await sendOk(alice, bob, { payload: "fails again" });
    await socket.items(1);
    socket.send({ type: "processed", id: sent.messageId, outcome: "dead_lettered", reason: "hook_max_attempts" });
    await expect.poll(async () => (await messageRecord(alice, bob, sent.messageId)).json.state).toBe("dead_lettered");
    // A replay that fails again: the connector reports the failure once more.
    socket.send({ type: "processed", id: sent.messageId, outcome: "failed", reason: "hook said 400" });
    await nextSummary(bob);
    await expect.poll(() => listed(bob, sent.messageId)).toEqual(["dead_lettered"]);
    socket.close();
  });
});
