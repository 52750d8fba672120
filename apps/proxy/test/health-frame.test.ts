import { healthFrameSchema } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import type { StatusAggregate } from "../src/metrics/operator-status.js";
import { type StoredHealth, storeHealth } from "../src/session/connections/health.js";
import type { LiveSocket, Sockets } from "../src/session/connections/sockets.js";
import { parseExposition, sampleValue } from "./operator/exposition.js";
import { adminCall } from "./support/agents.js";
import { knownAgent, statusOf } from "./support/session.js";
import { advanceClock, connect, fireAlarm } from "./support/socket.js";

const TOKEN_EXPIRES_AT = 1_900_000_000_000;

function healthFrame(breaker: "closed" | "open" | "half_open", pending = 0) {
  return {
    type: "health",
    hook: {
      breaker,
      lastError: breaker === "closed" ? undefined : "hook_status_503",
      lastSuccessAt: 1_700_000_000_000,
    },
    inbox: { pending, oldestAt: pending > 0 ? 1_700_000_000_000 : null, deadLetters: 2 },
    outbox: { pending: 0, oldestAt: null },
    tokenExpiresAt: TOKEN_EXPIRES_AT,
    version: "0.1.0",
  };
}

async function adminView() {
  const status = (await (await adminCall("GET", "/v1/status")).json()) as StatusAggregate;
  const families = parseExposition(await (await adminCall("GET", "/v1/metrics")).text());
  return { status, families };
}

// The connector's `health` frame (PROTOCOL.md §6): kept per socket, shown in the views.
describe("health frame", () => {
  it("is kept per socket and shown in agent status; a newer one replaces it", async () => {
    const bob = await knownAgent("bob");
    const { socket: active } = await connect(bob, { connectorId: "bob-main" });
    const { socket: standby } = await connect(bob, { connectorId: "bob-backup" });
    active.send(healthFrame("closed", 3));
    // An invalid frame after it: its error answer means the health frame was handled.
    active.send("not json");
    expect((await active.next("error")).code).toBe("invalid_frame");
    const status = await statusOf(bob);
    const byId = Object.fromEntries(status.connections.map((c) => [c.connectorId, c]));
    expect(byId["bob-main"]?.health).toMatchObject({
      hook: { breaker: "closed" },
      inbox: { pending: 3, deadLetters: 2 },
      outbox: { pending: 0, oldestAt: null },
      tokenExpiresAt: TOKEN_EXPIRES_AT,
      version: "0.1.0",
    });
    expect(byId["bob-main"]?.health?.receivedAt).toEqual(expect.any(Number));
    expect(byId["bob-backup"]?.health).toBeNull();
    active.send(healthFrame("open"));
    active.send("not json");
    expect((await active.next("error")).code).toBe("invalid_frame");
    const after = await statusOf(bob);
    expect(after.connections.find((c) => c.connectorId === "bob-main")?.health?.hook).toEqual({
      breaker: "open",
      lastError: "hook_status_503",
      lastSuccessAt: 1_700_000_000_000,
    });
    active.close();
    standby.close();
  });

  it("an invalid health frame is invalid_frame and keeps the last good one", async () => {
    const bob = await knownAgent("bob");
    const { socket } = await connect(bob);
    socket.send(healthFrame("closed", 1));
    const bad = [
      { ...healthFrame("closed"), hook: { breaker: "melted" } },
      { ...healthFrame("closed"), inbox: { pending: -1, oldestAt: null, deadLetters: 0 } },
      { ...healthFrame("closed"), version: undefined },
    ];
    for (const frame of bad) {
      socket.send(frame);
      expect((await socket.next("error")).code).toBe("invalid_frame");
    }
    const [connection] = (await statusOf(bob)).connections;
    expect(connection?.health?.inbox.pending).toBe(1);
    socket.close();
  });

  it("an open hook breaker shows in /v1/status and as clawrelay_connector_hook_breaker_open in /v1/metrics", async () => {
    const [carol, dave] = [await knownAgent("carol"), await knownAgent("dave")];
    const { socket: carolSocket } = await connect(carol, { connectorId: "carol-main" });
    const { socket: daveSocket } = await connect(dave);
    carolSocket.send(healthFrame("open"));
    daveSocket.send(healthFrame("closed"));
    // Reports are throttled to one per 10 s: move the clocks past it and run the alarms.
    await expect
      .poll(async () => {
        for (const agent of [carol, dave]) {
          await advanceClock(agent.id, 11_000);
          await fireAlarm(agent.id);
        }
        const { families } = await adminView();
        return sampleValue(families, "clawrelay_connector_token_expires_in_seconds", { agent: dave.id }) !== undefined
          ? sampleValue(families, "clawrelay_connector_hook_breaker_open", { agent: carol.id })
          : undefined;
      })
      .toBe(1);
    const { status, families } = await adminView();
    expect(sampleValue(families, "clawrelay_connector_hook_breaker_open", { agent: dave.id })).toBeUndefined();
    expect(sampleValue(families, "clawrelay_connector_token_expires_in_seconds", { agent: dave.id })).toBeGreaterThan(
      0,
    );
    expect(status.openBreakers.filter((b) => b.agentId === carol.id)).toEqual([
      { agentId: carol.id, kind: "hook", connectorId: "carol-main", state: "open", lastError: "hook_status_503" },
    ]);
    expect(status.openBreakers.filter((b) => b.agentId === dave.id)).toEqual([]);
    carolSocket.close();
    daveSocket.close();
  });
});

describe("health frame cost", () => {
  // storeHealth on its own, with stand-ins for the session and its sockets: what matters is what a
  // frame leaves behind (stored health, a summary marked for its next report), not the transport.
  function harness() {
    const s = { metrics: { dirty: false } };
    const socket = { data: {} as { health?: StoredHealth } };
    const sockets = {
      update: (target: typeof socket, patch: { health?: StoredHealth }) => {
        target.data = { ...target.data, ...patch };
      },
    };
    const store = (frame: ReturnType<typeof healthFrame>, now: number) => {
      const parsed = healthFrameSchema.parse(frame);
      storeHealth(s.metrics, sockets as unknown as Sockets, socket as unknown as LiveSocket, parsed, now);
    };
    return { s, socket, store };
  }

  it("every change of substance marks the summary, however soon; an unchanged frame marks nothing", () => {
    const h = harness();
    h.store(healthFrame("closed"), 1_000);
    expect(h.s.metrics.dirty).toBe(true);
    h.s.metrics.dirty = false;
    // 4 s later the hook failed: the connector says so once, and the relay must not drop it.
    h.store(healthFrame("open"), 5_000);
    expect(h.socket.data.health?.hook.breaker).toBe("open");
    expect(h.socket.data.health?.receivedAt).toBe(5_000);
    expect(h.s.metrics.dirty).toBe(true);
    h.s.metrics.dirty = false;
    h.store(healthFrame("open"), 6_000);
    expect(h.s.metrics.dirty).toBe(false);
    h.store(healthFrame("closed"), 7_000);
    expect(h.s.metrics.dirty).toBe(true);
    h.s.metrics.dirty = false;
    h.store({ ...healthFrame("closed"), tokenExpiresAt: TOKEN_EXPIRES_AT + 1 }, 30_000);
    expect(h.s.metrics.dirty).toBe(false);
  });
});
