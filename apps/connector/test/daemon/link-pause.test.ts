import { describe, expect, it } from "vitest";
import { waitUntil } from "./helpers/common.js";
import type { RelayConnection } from "./helpers/fake-relay.js";
import { establish, harness, relay, stayConnected, TIMING } from "./helpers/link-harness.js";

const pings = (connection: RelayConnection) =>
  connection.received.items.filter((entry) => entry.kind === "text" && entry.text === "ping").length;

/** A paused process (SIGSTOP, a machine asleep) resumes with every timer overdue (PROTOCOL.md §8 heartbeat). */
describe("RelayLink heartbeat across a paused process", () => {
  it("keeps a live socket: a pong still in the socket buffer counts, and pings go on", async () => {
    const fake = await relay({ autoPong: true });
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    await establish(h, connection);
    await stayConnected(h, 10_000);
    const pongs = h.pongs.items.length;
    h.clock.pause(60_000);
    h.clock.advance(0);
    expect(h.link.status().state).toBe("connected");
    await h.pongs.waitFor(() => true, pongs);
    await stayConnected(h, 30_000);
    expect(h.link.status().state).toBe("connected");
    expect(h.logs.events()).not.toContain("heartbeat_timeout");
    expect(h.scheduled.items).toHaveLength(0);
  });

  it("notices a dead socket by the pong timeout within one ping interval of resuming", async () => {
    const fake = await relay({ autoPong: false });
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    await establish(h, connection);
    h.clock.advance(TIMING.pingIntervalMs);
    await waitUntil(() => pings(connection) === 1);
    h.clock.pause(3_600_000);
    const resumedAt = h.clock.now();
    h.clock.advance(0);
    // The resumed link pings at once rather than judging a socket it could not read.
    await waitUntil(() => pings(connection) >= 2);
    h.clock.advance(TIMING.pingIntervalMs - 1);
    expect(h.link.status().state).toBe("connected");
    h.clock.advance(1);
    await connection.closed;
    expect(h.logs.events()).toContain("heartbeat_timeout");
    expect(h.clock.now() - resumedAt).toBe(TIMING.pingIntervalMs);
    h.clock.advance((await h.scheduled.waitFor()).delayMs);
    await fake.connections.waitFor(() => true, 1);
  });

  it("a pause shorter than the grace changes nothing: the pong timeout is judged as usual", async () => {
    const fake = await relay({ autoPong: false });
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    await establish(h, connection);
    h.clock.advance(10_000);
    // Due at 15 s, run at 19 s: 4 s late is within one ping interval, so the watchdog judges.
    h.clock.pause(9_000);
    h.clock.advance(0);
    await connection.closed;
    expect(h.logs.events()).toContain("heartbeat_timeout");
  });
});
