import { describe, expect, it } from "vitest";
import { messageItem, waitUntil } from "./helpers/common.js";
import { deadPort } from "./helpers/fake-relay.js";
import { establish, harness, relay, stayConnected, TIMING } from "./helpers/link-harness.js";

describe("RelayLink handshake and frames", () => {
  it("upgrades with fresh signed headers and sends reconnect first", async () => {
    const fake = await relay();
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    expect(connection.path).toBe("/v1/agents/bob-agent/connect");
    expect(connection.headers.authorization).toBe("Claw test.identity.token");
    expect(connection.headers["x-claw-signature"]).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(connection.headers["x-claw-nonce"]).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    expect(connection.headers["x-claw-connector-id"]).toBe("connector-test-1");
    expect(await h.identity.verify({ method: "GET", path: connection.path, headers: connection.headers })).toBe(true);
    const first = await connection.received.waitFor();
    expect(first).toEqual({
      kind: "frame",
      frame: {
        type: "reconnect",
        connectorId: "connector-test-1",
        lastReceivedId: "01JLASTRECEIVED",
        offlineSinceMs: 1_699_999_000_000,
        mode: "auto",
      },
    });
    connection.ack("active");
    expect(await h.roles.waitFor()).toEqual({ role: "active", reason: "reconnect_ack" });
    expect(h.link.status()).toMatchObject({ state: "connected", role: "active", relayUrl: fake.url });
  });

  it("follows role frames from the relay", async () => {
    const fake = await relay();
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    connection.ack("standby");
    expect((await h.roles.waitFor()).role).toBe("standby");
    connection.send({ type: "role", role: "active", reason: "promoted" });
    expect(await h.roles.waitFor((entry) => entry.role === "active")).toEqual({ role: "active", reason: "promoted" });
    connection.send({ type: "role", role: "standby", reason: "takeover" });
    await h.roles.waitFor((entry) => entry.reason === "takeover");
    expect(h.link.status().role).toBe("standby");
    expect(h.logs.events()).toContain("role_changed");
  });

  it("acks only what onDeliver committed, nacks inbox_full, and acks nothing when storing throws", async () => {
    const fake = await relay();
    const lost = messageItem();
    const h = await harness({
      relayUrls: [fake.url],
      onDeliver: (items) => {
        if (items.some((item) => item.id === lost.id)) throw new Error("disk full");
        return { ack: items.slice(0, 1).map((item) => item.id), nackInboxFull: items.slice(1).map((item) => item.id) };
      },
    });
    h.link.start();
    const connection = await fake.connections.waitFor();
    connection.ack();
    await h.roles.waitFor();
    const [a, b] = [messageItem(), messageItem()];
    connection.send({ type: "deliver", items: [a, b] });
    expect(await connection.frame("ack")).toEqual({ type: "ack", ids: [a.id] });
    expect(await connection.frame("nack")).toEqual({ type: "nack", ids: [b.id], reason: "inbox_full" });

    const before = connection.received.items.length;
    connection.send({ type: "deliver", items: [lost] });
    const later = messageItem();
    // Frames on one socket are handled in order: once the ack for `later` arrives, `lost` was handled too.
    connection.send({ type: "deliver", items: [later] });
    const ack = await connection.frame("ack", before);
    expect(ack.ids).toEqual([later.id]);
    expect(h.logs.events()).toContain("inbox_store_failed");
  });

  it("stores the good items of a partly malformed deliver frame and nacks the rest as invalid", async () => {
    const fake = await relay();
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    connection.ack();
    await h.roles.waitFor();
    const good = messageItem();
    connection.send(JSON.stringify({ type: "deliver", items: [good, { kind: "message", id: "broken-item-1" }] }));
    expect(await connection.frame("ack")).toEqual({ type: "ack", ids: [good.id] });
    expect(await connection.frame("nack")).toEqual({ type: "nack", ids: ["broken-item-1"], reason: "invalid" });
    expect(h.delivered).toEqual([[good]]);
    connection.send({ type: "error", code: "invalid_frame", message: "bad frame" });
    connection.send("not json at all");
    await waitUntil(
      () =>
        h.logs.events().filter((event) => event === "relay_frame_invalid" || event === "relay_error_frame").length >= 3,
    );
    expect(h.link.status().state).toBe("connected");
  });
});

describe("RelayLink reconnects", () => {
  it("backs off with full jitter from 0.5 s doubling to a 30 s cap", async () => {
    const fake = await relay({ onConnection: (connection) => connection.socket.close(1011, "internal") });
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 9; attempt++) {
      const scheduled = await h.scheduled.waitFor(() => true, attempt);
      expect(scheduled.attempt).toBe(attempt);
      delays.push(scheduled.delayMs);
      h.clock.advance(scheduled.delayMs);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("draws the delay uniformly in [0, ceiling]", async () => {
    const draws = [0, 0.5, 0.999];
    const fake = await relay({ onConnection: (connection) => connection.socket.close(1008, "policy") });
    const h = await harness({ relayUrls: [fake.url], random: () => draws.shift() ?? 0 });
    h.link.start();
    const first = await h.scheduled.waitFor(() => true, 0);
    h.clock.advance(first.delayMs);
    const second = await h.scheduled.waitFor(() => true, 1);
    h.clock.advance(second.delayMs);
    const third = await h.scheduled.waitFor(() => true, 2);
    expect([first.delayMs, second.delayMs, third.delayMs]).toEqual([0, 500, Math.floor(0.999 * 2000)]);
  });

  it("resets the backoff after 60 s connected, not before", async () => {
    const fake = await relay({ autoPong: true });
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    // One quick failure: the next ceiling would be 1000 (a reset would make it 500).
    const refused = await fake.connections.waitFor();
    refused.socket.close(1011, "internal");
    h.clock.advance((await h.scheduled.waitFor()).delayMs);

    // A 30 s session keeps the count.
    let connection = await fake.connections.waitFor(() => true, 1);
    await establish(h, connection);
    await stayConnected(h, 30_000);
    connection.socket.close(1011, "internal");
    const afterShort = await h.scheduled.waitFor(() => true, 1);
    expect(afterShort).toMatchObject({ delayMs: 1000, attempt: 1 });
    h.clock.advance(afterShort.delayMs);

    // A 60 s session resets it.
    connection = await fake.connections.waitFor(() => true, 2);
    await establish(h, connection);
    await stayConnected(h, 60_000);
    connection.socket.close(1011, "internal");
    const afterLong = await h.scheduled.waitFor(() => true, 2);
    expect(afterLong).toMatchObject({ delayMs: 500, attempt: 0 });
  });

  it("pings every 5 s and reconnects when no pong came for 15 s (the defaults)", async () => {
    expect([TIMING.pingIntervalMs, TIMING.pongTimeoutMs]).toEqual([5_000, 15_000]);
    const fake = await relay({ autoPong: false });
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    await establish(h, connection);
    const pings = () => connection.received.items.filter((entry) => entry.kind === "text").length;
    h.clock.advance(5_000);
    await waitUntil(() => pings() === 1);
    h.clock.advance(5_000);
    await waitUntil(() => pings() === 2);
    h.clock.advance(4_999);
    expect(h.scheduled.items).toHaveLength(0);
    expect(h.link.status().state).toBe("connected");
    h.clock.advance(1);
    await connection.closed;
    const scheduled = await h.scheduled.waitFor();
    expect(scheduled.relayUrl).toBe(fake.url);
    expect(h.logs.events()).toContain("heartbeat_timeout");
    h.clock.advance(scheduled.delayMs);
    await fake.connections.waitFor(() => true, 1);
  });

  it("follows a configured ping interval and pong timeout", async () => {
    const fake = await relay({ autoPong: false });
    const h = await harness({
      relayUrls: [fake.url],
      timing: { ...TIMING, pingIntervalMs: 20_000, pongTimeoutMs: 45_000 },
    });
    h.link.start();
    const connection = await fake.connections.waitFor();
    await establish(h, connection);
    h.clock.advance(19_999);
    expect(connection.received.items.some((entry) => entry.kind === "text")).toBe(false);
    h.clock.advance(1);
    await connection.received.waitFor((entry) => entry.kind === "text" && entry.text === "ping");
    h.clock.advance(44_999 - 20_000);
    expect(h.link.status().state).toBe("connected");
    h.clock.advance(1);
    await connection.closed;
    expect(h.logs.events()).toContain("heartbeat_timeout");
  });

  it("keeps the session while pongs arrive", async () => {
    const fake = await relay({ autoPong: true });
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    connection.ack();
    await h.states.waitFor((state) => state === "connected");
    await stayConnected(h, 100_000);
    expect(h.pongs.items).toHaveLength(20);
    expect(h.link.status().state).toBe("connected");
    expect(h.scheduled.items).toHaveLength(0);
  });

  it("stops for good on close 4003 and logs credentials_rejected", async () => {
    const fake = await relay();
    const h = await harness({ relayUrls: [fake.url] });
    const stopped = new Promise((resolve) => h.link.once("stopped", resolve));
    h.link.start();
    const connection = await fake.connections.waitFor();
    connection.ack();
    await h.states.waitFor((state) => state === "connected");
    connection.socket.close(4003, "revoked");
    expect(await stopped).toEqual({ reason: "credentials_rejected" });
    expect(h.link.status().state).toBe("credentials_rejected");
    expect(h.logs.events()).toContain("credentials_rejected");
    h.clock.advance(600_000);
    expect(h.scheduled.items).toHaveLength(0);
    expect(fake.connections.items).toHaveLength(1);
  });

  it("stops when the upgrade is refused with a revoked token", async () => {
    const fake = await relay({
      rejectUpgrade: () => ({
        status: 401,
        body: { error: { code: "revoked", message: "token revoked", correlationId: "corr-12345678" } },
      }),
    });
    const h = await harness({ relayUrls: [fake.url] });
    const stopped = new Promise((resolve) => h.link.once("stopped", resolve));
    h.link.start();
    await stopped;
    expect(h.link.status().state).toBe("credentials_rejected");
    expect(h.logs.lines.find((line) => line.event === "credentials_rejected")?.rejectionCode).toBe("revoked");
  });

  it("after 4001 (superseded) comes back in auto mode as a standby", async () => {
    const fake = await relay();
    const h = await harness({ relayUrls: [fake.url], takeover: true });
    h.link.start();
    const first = await fake.connections.waitFor();
    expect((await first.frame("reconnect")).mode).toBe("takeover");
    first.ack("active");
    await h.states.waitFor((state) => state === "connected");
    first.socket.close(4001, "superseded");
    const scheduled = await h.scheduled.waitFor();
    expect(h.logs.events()).toContain("link_superseded");
    h.clock.advance(scheduled.delayMs);
    const second = await fake.connections.waitFor(() => true, 1);
    expect((await second.frame("reconnect")).mode).toBe("auto");
    // Every attempt is signed afresh: a relay refuses a reused nonce.
    expect(second.headers["x-claw-nonce"]).not.toBe(first.headers["x-claw-nonce"]);
    expect(await h.identity.verify({ method: "GET", path: second.path, headers: second.headers })).toBe(true);
    second.ack("standby");
    expect(await h.roles.waitFor((entry) => entry.role === "standby")).toMatchObject({ role: "standby" });
  });

  it("tries relay URLs in order, moving on after each failure, and starts over after a session", async () => {
    const fake = await relay();
    const deadA = `http://127.0.0.1:${await deadPort()}`;
    const deadB = `http://127.0.0.1:${await deadPort()}`;
    const h = await harness({ relayUrls: [deadA, deadB, fake.url] });
    h.link.start();
    for (let index = 0; index < 2; index++) {
      const scheduled = await h.scheduled.waitFor(() => true, index);
      h.clock.advance(scheduled.delayMs);
    }
    const connection = await fake.connections.waitFor();
    connection.ack();
    await h.states.waitFor((state) => state === "connected");
    expect(h.attempts.items).toEqual([deadA, deadB, fake.url]);
    connection.socket.close(1011, "internal");
    const scheduled = await h.scheduled.waitFor(() => true, 2);
    expect(scheduled.relayUrl).toBe(deadA);
    h.clock.advance(scheduled.delayMs);
    await h.attempts.waitFor(() => true, 3);
    expect(h.attempts.items[3]).toBe(deadA);
  });

  it("closes with 1000 on stop and does not reconnect", async () => {
    const fake = await relay();
    const h = await harness({ relayUrls: [fake.url] });
    h.link.start();
    const connection = await fake.connections.waitFor();
    connection.ack();
    await h.states.waitFor((state) => state === "connected");
    await h.link.stop();
    expect((await connection.closed).code).toBe(1000);
    h.clock.advance(60_000);
    expect(h.scheduled.items).toHaveLength(0);
  });
});
