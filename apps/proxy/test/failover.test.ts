import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { relayConfig } from "../src/config.js";
import type { TestAgent } from "./support/agents.js";
import { setClock } from "./support/clock.js";
import { knownAgent, sendOk, statusOf } from "./support/session.js";
import { connect, fireAlarm, sessionStub } from "./support/socket.js";

const { RELAY_FAILOVER_AFTER_MS: FAILOVER, RELAY_STALE_AFTER_MS: STALE } = relayConfig(env);

/** Set the clock to `at`, still ticking with the wall clock (support/clock.ts). */
function setClockAt(agent: TestAgent, at: number): Promise<void> {
  return setClock(sessionStub(agent.id), at);
}

async function scheduledAlarm(agent: TestAgent): Promise<number | null> {
  return runInDurableObject(sessionStub(agent.id), (_instance, state) => state.storage.getAlarm());
}

async function connection(agent: TestAgent, connectorId: string) {
  const found = (await statusOf(agent)).connections.find((c) => c.connectorId === connectorId);
  if (!found) throw new Error(`no connection ${connectorId}`);
  return found;
}

// PROTOCOL.md §6 (v1.1): a machine gone to sleep closes no socket. While a standby is connected,
// an active socket whose last ping is older than RELAY_FAILOVER_AFTER_MS is failed over.
describe("failover from a sleeping active connector", () => {
  it("with a standby connected, a silent active is closed after RELAY_FAILOVER_AFTER_MS and the standby gets what was in flight", async () => {
    expect(FAILOVER).toBeLessThan(STALE);
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const { socket: sleepy } = await connect(bob, { connectorId: "sleepy-a" });
    const sent = await sendOk(alice, bob, { payload: "in flight" });
    // Due to expire in the very alarm that fails over: expired, never handed to the standby.
    const expiring = await sendOk(alice, bob, { payload: "expiring", ttlSeconds: FAILOVER / 1000 });
    await sleepy.items(2);
    const { socket: standby, ack } = await connect(bob, { connectorId: "awake-b" });
    expect(ack.role).toBe("standby");
    const silentSince = (await connection(bob, "sleepy-a")).connectedAt;

    await setClockAt(bob, silentSince + FAILOVER - 500);
    await standby.ping();
    await fireAlarm(bob.id);
    expect((await connection(bob, "sleepy-a")).role).toBe("active");
    expect(standby.frames.filter((f) => f.type === "role")).toHaveLength(0);

    await setClockAt(bob, Math.max(silentSince + FAILOVER, Number(expiring.expiresAt)));
    await standby.ping();
    await fireAlarm(bob.id);
    expect(await sleepy.closed()).toBe(1011);
    expect(await standby.next("role")).toMatchObject({ role: "active" });
    const moved = await standby.messages(1);
    expect(moved.map((m) => [m.id, m.attempt])).toEqual([[sent.messageId, 1]]);
    expect(standby.raw.some((frame) => frame.includes(expiring.messageId))).toBe(false);
    expect((await statusOf(bob)).connections.map((c) => [c.connectorId, c.role])).toEqual([["awake-b", "active"]]);
    standby.close();
  });

  it.each([
    ["no standby ever connected", false],
    ["the standby left again", true],
  ] as const)("%s: a silent active stays until RELAY_STALE_AFTER_MS", async (_, standbyLeft) => {
    const bob = await knownAgent("bob");
    const { socket: sleepy } = await connect(bob, { connectorId: "alone-a" });
    if (standbyLeft) {
      const { socket: standby } = await connect(bob, { connectorId: "leaving-b" });
      standby.close();
      await expect.poll(async () => (await statusOf(bob)).connections.length).toBe(1);
    }
    const silentSince = (await connection(bob, "alone-a")).connectedAt;
    await setClockAt(bob, silentSince + FAILOVER + 1000);
    await fireAlarm(bob.id);
    expect((await connection(bob, "alone-a")).role).toBe("active");
    // The next wake is the stale rule's, not the failover rule's.
    expect(await scheduledAlarm(bob)).toBe(silentSince + STALE);

    await setClockAt(bob, silentSince + STALE - 500);
    await fireAlarm(bob.id);
    expect((await connection(bob, "alone-a")).role).toBe("active");
    await setClockAt(bob, silentSince + STALE);
    await fireAlarm(bob.id);
    expect(await sleepy.closed()).toBe(1011);
  });

  it("a flood of reconnect frames and pings does not bring the alarm before the active's last ping + RELAY_FAILOVER_AFTER_MS", async () => {
    const bob = await knownAgent("bob");
    const { socket: active } = await connect(bob, { connectorId: "pinging-a" });
    const { socket: standby } = await connect(bob, { connectorId: "pinging-b" });
    // Past both handshake deadlines, with fresh pings from both: the alarm is the failover check.
    await setClockAt(bob, (await connection(bob, "pinging-b")).connectedAt + 10_001);
    await active.ping();
    await standby.ping();
    await fireAlarm(bob.id);
    const lastPingAt = (await connection(bob, "pinging-a")).lastPingAt;
    expect(lastPingAt).toBeTypeOf("number");
    const due = (lastPingAt ?? 0) + FAILOVER;
    expect(await scheduledAlarm(bob)).toBe(due);

    const reconnect = (connectorId: string) => ({
      type: "reconnect",
      connectorId,
      lastReceivedId: null,
      offlineSinceMs: null,
      mode: "takeover",
    });
    for (let i = 0; i < 15; i++) {
      active.send(reconnect("pinging-a"));
      standby.send(reconnect("pinging-b"));
      await standby.ping();
    }
    for (let i = 0; i < 15; i++) {
      expect((await active.next("error")).code).toBe("invalid_frame");
      expect((await standby.next("error")).code).toBe("invalid_frame");
    }
    expect(await scheduledAlarm(bob)).toBe(due);
    expect((await connection(bob, "pinging-a")).role).toBe("active");
    active.close();
    standby.close();
  });
});
