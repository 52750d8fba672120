import { describe, expect, it } from "vitest";
import type { MessageRecord } from "../src/session/queue/records.js";
import { signedCall } from "./support/agents.js";
import { knownAgent, sendOk } from "./support/session.js";
import { connect } from "./support/socket.js";

async function record(reader: Parameters<typeof signedCall>[0], to: string, messageId: string) {
  const res = await signedCall(reader, "GET", `/v1/agents/${to}/messages/${messageId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as MessageRecord;
}

describe("message records: the recipient's side while a message waits", () => {
  it("says whether the recipient is connected, since when it is offline, and how its breaker stands; nothing once the message ends", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const sent = await sendOk(alice, bob, { payload: { n: 1 } });

    const neverConnected = await record(alice, bob.id, sent.messageId);
    expect(neverConnected.state).toBe("queued");
    expect(neverConnected.recipient).toEqual({
      connected: false,
      offlineSince: null,
      knownSince: expect.any(Number),
      breaker: { state: "closed", openedAt: null, probeAt: null },
    });

    const { socket } = await connect(bob);
    await socket.messages(1);
    const inFlight = await record(alice, bob.id, sent.messageId);
    expect(inFlight.state).toBe("inflight");
    expect(inFlight.recipient).toMatchObject({ connected: true, offlineSince: null });

    const before = Date.now();
    socket.close();
    await expect.poll(async () => (await record(alice, bob.id, sent.messageId)).recipient?.connected).toBe(false);
    const offline = await record(alice, bob.id, sent.messageId);
    expect(offline.state).toBe("queued");
    expect(offline.recipient?.offlineSince).toBeGreaterThanOrEqual(before);

    const again = await connect(bob);
    await again.socket.messages(1);
    again.socket.ack([sent.messageId]);
    await expect.poll(async () => (await record(alice, bob.id, sent.messageId)).state).toBe("acked");
    expect(await record(alice, bob.id, sent.messageId)).not.toHaveProperty("recipient");
    again.socket.close();
  });
});
