import { describe, expect, it } from "vitest";
import { ReconnectPolicy } from "../../src/daemon/link-policy.js";
import { ManualClock } from "./helpers/clock.js";
import { establish, type Harness, harness, relay, stayConnected, TIMING } from "./helpers/link-harness.js";

const HOUR = 3_600_000;

/** A relay whose upgrades answer 503 while `down` is set: a relay that is restarting. */
async function restartingRelay() {
  const state = { down: false };
  const fake = await relay({
    rejectUpgrade: () =>
      state.down
        ? { status: 503, body: { error: { code: "unavailable", message: "down", correlationId: "corr-12345678" } } }
        : undefined,
  });
  return { fake, state };
}

/** Run the refused attempts of an outage until `until` (manual-clock time); returns how many were made. */
async function sitOutOutage(h: Harness, until: number, onDue?: (dueAt: number) => void): Promise<number> {
  let made = 0;
  for (;;) {
    const scheduled = await h.scheduled.waitFor(() => true, h.scheduled.items.length - 1);
    const dueAt = h.clock.now() + scheduled.delayMs;
    onDue?.(dueAt);
    if (dueAt >= until) return made;
    const count = h.scheduled.items.length;
    h.clock.advance(scheduled.delayMs);
    made++;
    await h.scheduled.waitFor(() => true, count);
  }
}

describe("RelayLink after the relay restarted (PROTOCOL.md §8)", () => {
  it("is back within 5 s of a relay that was down 20 s after an established session", async () => {
    const { fake, state } = await restartingRelay();
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    await establish(h, await fake.connections.waitFor());
    await stayConnected(h, 90_000);
    state.down = true;
    const droppedAt = h.clock.now();
    (await fake.connections.waitFor()).socket.terminate();
    const backAt = droppedAt + 20_000;
    // The attempts during the outage are refused; the one after the relay is back is accepted.
    await sitOutOutage(h, backAt);
    state.down = false;
    const next = h.scheduled.items.at(-1);
    h.clock.advance(next?.delayMs ?? 0);
    await establish(h, await fake.connections.waitFor(() => true, 1));
    // random() = 1 draws every wait at its ceiling: the worst case of full jitter.
    expect(h.clock.now() - backAt).toBeLessThanOrEqual(5_000);
    expect(next?.restartWindow).toBe(true);
  });

  it("a relay that never comes back gets a bounded number of attempts per hour", async () => {
    const { fake, state } = await restartingRelay();
    const h = await harness({ relayUrls: [fake.url], random: () => 0.5 });
    h.link.start();
    await establish(h, await fake.connections.waitFor());
    state.down = true;
    (await fake.connections.waitFor()).socket.terminate();
    const made = await sitOutOutage(h, h.clock.now() + HOUR);
    // The restart window (≈ 121 attempts in 2 min) plus 15 s average draws for the rest of the hour.
    expect(made).toBeGreaterThan(300);
    expect(made).toBeLessThanOrEqual(360);
    expect(h.scheduled.items.at(-1)).toMatchObject({ restartWindow: false, delayMs: TIMING.reconnectMaxMs / 2 });
  });

  it("a relay that drops every session at once gets one restart window, then the ordinary backoff", async () => {
    const fake = await relay();
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const startedAt = h.clock.now();
    for (let sessions = 0; h.clock.now() - startedAt < 3 * TIMING.reconnectFastWindowMs; sessions++) {
      const connection = await fake.connections.waitFor(() => true, sessions);
      await establish(h, connection);
      const count = h.scheduled.items.length;
      connection.socket.close(1011, "flapping");
      h.clock.advance((await h.scheduled.waitFor(() => true, count)).delayMs);
    }
    const windowed = h.scheduled.items.filter((entry) => entry.restartWindow);
    // One window: the run of short sessions, then 2 min of 2 s draws, never reopened later.
    expect(windowed.length).toBeGreaterThan(TIMING.reconnectFlapSessions);
    expect(windowed.length).toBeLessThanOrEqual(
      TIMING.reconnectFlapSessions + TIMING.reconnectFastWindowMs / TIMING.reconnectFastMaxMs,
    );
    expect(h.scheduled.items.slice(0, windowed.length).every((entry) => entry.restartWindow)).toBe(true);
    expect(h.scheduled.items.at(-1)).toMatchObject({ restartWindow: false, delayMs: TIMING.reconnectMaxMs });
  });

  it("still stops for good on 4003 inside a restart window", async () => {
    const fake = await relay();
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    await establish(h, await fake.connections.waitFor());
    (await fake.connections.waitFor()).socket.close(1012, "service restart");
    h.clock.advance((await h.scheduled.waitFor()).delayMs);
    const second = await fake.connections.waitFor(() => true, 1);
    await establish(h, second);
    second.socket.close(4003, "revoked");
    await h.states.waitFor((state) => state === "credentials_rejected");
    h.clock.advance(HOUR);
    expect(h.scheduled.items).toHaveLength(1);
    expect(fake.connections.items).toHaveLength(2);
  });
});

describe("ReconnectPolicy restart window", () => {
  const policy = (random: () => number, clock = new ManualClock()) => ({
    clock,
    policy: new ReconnectPolicy(["https://relay.example.com"], TIMING, clock, random),
  });

  it("keeps the ordinary ramp before any session, and caps draws at 2 s for 2 min after one", () => {
    const { clock, policy: p } = policy(() => 1);
    expect([p.nextDelay(), p.nextDelay(), p.nextDelay(), p.nextDelay()].map((d) => d.delayMs)).toEqual([
      500, 1000, 2000, 4000,
    ]);
    p.sessionEnded(1_000);
    const draws = [p.nextDelay(), p.nextDelay()];
    expect(draws.map((d) => [d.delayMs, d.restartWindow])).toEqual([
      [2000, true],
      [2000, true],
    ]);
    clock.advance(TIMING.reconnectFastWindowMs);
    expect(p.nextDelay()).toMatchObject({ delayMs: TIMING.reconnectMaxMs, restartWindow: false });
  });

  it("never raises a configured cap below the fast cap", () => {
    const clock = new ManualClock();
    const p = new ReconnectPolicy(["https://relay.example.com"], { ...TIMING, reconnectMaxMs: 100 }, clock, () => 1);
    p.sessionEnded(0);
    expect([p.nextDelay(), p.nextDelay()].map((d) => d.delayMs)).toEqual([100, 100]);
  });

  it("costs about 240 attempts in every hour of an outage after the first", () => {
    const { clock, policy: p } = policy(() => 0.5);
    p.sessionEnded(120_000);
    const attemptsIn = (ms: number) => {
      const end = clock.now() + ms;
      let made = 0;
      while (clock.now() < end) {
        clock.advance(p.nextDelay().delayMs);
        made++;
      }
      return made;
    };
    const first = attemptsIn(HOUR);
    expect(first).toBeGreaterThan(340);
    expect(first).toBeLessThanOrEqual(360);
    expect(attemptsIn(HOUR)).toBe(240);
  });
});
