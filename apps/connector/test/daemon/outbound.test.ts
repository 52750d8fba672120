import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "./helpers/clock.js";
import { eventually, waitUntil } from "./helpers/common.js";
import { postJson, startTestConnector, type TestConnector } from "./helpers/connector.js";
import { deadPort, type FakeRelay } from "./helpers/fake-relay.js";
import { standIns } from "./helpers/stand-ins.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const environment = () => standIns(cleanups);

async function start(...args: Parameters<typeof startTestConnector>): Promise<TestConnector> {
  const started = await startTestConnector(...args);
  cleanups.push(() => started.connector.close());
  return started;
}

const sends = (relay: FakeRelay) => relay.requests.items.filter((request) => request.method === "POST");
describe("outbound", () => {
  it("commits, then sends one signed POST with a fixed idempotency key and reports the relay messageId", async () => {
    const { dir, relay, hook } = await environment();
    const { api, identity } = await start({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url() });
    const answer = await api(
      "/v1/outbound",
      postJson({ to: "carol-agent", payload: { hi: 1 }, priority: "critical", notify: ["processed"], ttlSeconds: 60 }),
    );
    expect(answer.status).toBe(202);
    const { outboundId, correlationId, state } = answer.body as Record<string, string>;
    expect(state).toBe("queued");
    expect(outboundId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(correlationId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

    const request = await relay.requests.waitFor((entry) => entry.method === "POST");
    expect(request.path).toBe("/v1/agents/carol-agent/messages");
    expect(JSON.parse(request.body)).toEqual({
      payload: { hi: 1 },
      priority: "critical",
      ttlSeconds: 60,
      notify: ["processed"],
    });
    expect(request.headers).toMatchObject({
      "x-claw-idempotency-key": `ob-${outboundId}`,
      "x-claw-correlation-id": correlationId,
      "content-type": "application/json",
      authorization: "Claw test.identity.token",
    });
    expect(request.headers["content-digest"]).toMatch(/^sha-256=:[A-Za-z0-9+/]{43}=:$/);
    expect(await identity.verify(request)).toBe(true);

    const record = await eventually(
      async () => (await api(`/v1/outbound/${outboundId}`)).body as Record<string, unknown>,
      (body) => body.state === "sent",
      5_000,
      "state sent",
    );
    expect(sends(relay)).toHaveLength(1);
    expect(record).toMatchObject({ state: "sent", messageId: "msg-1", priority: "critical", attempts: 1 });
  });

  it("honours Retry-After on 429, 503 and 507 and retries with the same key and bytes", async () => {
    const { dir, relay, hook } = await environment();
    const answers = [
      { status: 429, body: { error: { code: "rate_limited", message: "slow", correlationId: "c-12345678" } }, wait: 7 },
      { status: 503, body: { error: { code: "unavailable", message: "busy", correlationId: "c-12345678" } }, wait: 3 },
      { status: 507, body: { error: { code: "queue_full", message: "full", correlationId: "c-12345678" } }, wait: 11 },
    ];
    relay.setHttp((request) => {
      const index = sends(relay).indexOf(request);
      const scripted = answers[index];
      if (!scripted)
        return {
          status: 202,
          body: {
            messageId: "msg-final",
            correlationId: "c",
            status: "queued",
            duplicate: false,
            expiresAt: 1,
            queueDepth: 1,
          },
        };
      return { status: scripted.status, body: scripted.body, headers: { "retry-after": String(scripted.wait) } };
    });
    const clock = new ManualClock(Date.now());
    const { api, connector } = await start(
      {
        dataDir: dir,
        relayUrls: [`http://127.0.0.1:${await deadPort()}`],
        trustedRelays: [relay.url],
        hookUrl: hook.url(),
        outboxConcurrency: 1,
      },
      { clock },
    );
    // The link is pointed at a dead port; sends go to `toRelay`.
    const posted = await api("/v1/outbound", postJson({ to: "carol-agent", toRelay: relay.url, payload: "x" }));
    const { outboundId } = posted.body as { outboundId: string };
    const stateOf = () => connector.store.outbox.get(outboundId);

    for (const [index, scripted] of answers.entries()) {
      await waitUntil(
        () => stateOf()?.state === "queued" && stateOf()?.attempts === index + 1,
        5_000,
        `attempt ${index + 1}`,
      );
      expect(stateOf()?.nextAttemptAt).toBe(clock.now() + scripted.wait * 1000);
      clock.advance(scripted.wait * 1000 - 1);
      expect(stateOf()?.state).toBe("queued");
      clock.advance(1);
      expect(stateOf()?.state).toBe("sending");
    }
    await waitUntil(() => stateOf()?.state === "sent", 5_000, "sent");
    const all = sends(relay);
    expect(all).toHaveLength(4);
    expect(new Set(all.map((request) => request.headers["x-claw-idempotency-key"])).size).toBe(1);
    expect(new Set(all.map((request) => request.body)).size).toBe(1);
    expect(new Set(all.map((request) => request.headers["x-claw-nonce"])).size).toBe(4);
    expect(stateOf()?.messageId).toBe("msg-final");
  });

  it("ends a 4xx in state failed with a local failed receipt to the agent's receipt hook", async () => {
    const { dir, relay, hook } = await environment();
    relay.setHttp(() => ({
      status: 404,
      body: { error: { code: "unknown_recipient", message: "no such agent", correlationId: "c-12345678" } },
    }));
    const { api } = await start({
      dataDir: dir,
      relayUrls: [relay.url],
      hookUrl: hook.url("/hook"),
      receiptHookUrl: hook.url("/receipts"),
    });
    const posted = await api(
      "/v1/outbound",
      postJson({ to: "nobody-agent", payload: 1, correlationId: "conv-000042" }),
    );
    const { outboundId } = posted.body as { outboundId: string };
    const call = await hook.calls.waitFor((entry) => entry.path === "/receipts");
    expect(call.body).toMatchObject({
      type: "clawrelay.receipt.v1",
      receipt: { status: "failed", messageId: outboundId, correlationId: "conv-000042", recipient: "nobody-agent" },
    });
    expect((call.body as { receipt: { reason: string } }).receipt.reason).toMatch(/^unknown_recipient/);
    const record = await api(`/v1/outbound/${outboundId}`);
    expect(record.body).toMatchObject({ state: "failed", attempts: 1, receipts: [{ status: "failed" }] });
    expect(sends(relay)).toHaveLength(1);
  });

  it("backs off behind a breaker on 5xx, then recovers", async () => {
    const { dir, relay, hook } = await environment();
    let healthy = false;
    relay.setHttp(() =>
      healthy
        ? {
            status: 202,
            body: {
              messageId: "m-1",
              correlationId: "c",
              status: "queued",
              duplicate: false,
              expiresAt: 1,
              queueDepth: 0,
            },
          }
        : { status: 500, body: { error: { code: "internal", message: "boom", correlationId: "c-12345678" } } },
    );
    const { api, connector } = await start({
      dataDir: dir,
      relayUrls: [relay.url],
      hookUrl: hook.url(),
      outboxConcurrency: 1,
      outboxBreakerOpenMs: 400,
    });
    const posted = await api("/v1/outbound", postJson({ to: "carol-agent", payload: 1 }));
    const { outboundId } = posted.body as { outboundId: string };
    await waitUntil(() => connector.status().breakers.outbound[relay.url] === "open", 5_000, "breaker open");
    expect(sends(relay)).toHaveLength(5);
    healthy = true;
    await waitUntil(() => connector.store.outbox.get(outboundId)?.state === "sent", 5_000, "sent after recovery");
    expect(sends(relay)).toHaveLength(6);
    expect(connector.status().breakers.outbound[relay.url]).toBe("closed");
  });

  it("drains the outbox after a restart in priority order: critical, normal, low, then age", async () => {
    const { dir, relay, hook } = await environment();
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const first = await start({ dataDir: dir, relayUrls: [dead], hookUrl: hook.url(), outboxConcurrency: 1 });
    const order = [
      ["low", "low-1"],
      ["normal", "normal-1"],
      ["critical", "critical-1"],
      ["normal", "normal-2"],
      ["low", "low-2"],
      ["critical", "critical-2"],
    ] as const;
    for (const [priority, label] of order) {
      const answer = await first.api("/v1/outbound", postJson({ to: "carol-agent", payload: label, priority }));
      expect(answer.status).toBe(202);
    }
    await first.connector.close();

    await start({ dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url(), outboxConcurrency: 1 });
    await waitUntil(() => sends(relay).length === 6, 5_000, "six sends");
    expect(sends(relay).map((request) => JSON.parse(request.body).payload)).toEqual([
      "critical-1",
      "critical-2",
      "normal-1",
      "normal-2",
      "low-1",
      "low-2",
    ]);
  });

  it("keeps each (recipient, lane) stream first in, first out: one POST in flight, a head's Retry-After holds back only its stream", async () => {
    const { dir, relay, hook } = await environment();
    // Every POST waits until the test answers it: what is in flight at once is visible.
    const held: { payload: string; answer: (status: number, headers?: Record<string, string>) => void }[] = [];
    relay.setHttp(
      (request) =>
        new Promise((resolve) => {
          held.push({
            payload: String(JSON.parse(request.body).payload),
            answer: (status, headers) =>
              resolve(
                status === 202
                  ? undefined
                  : { status, headers, body: { error: { code: "rate_limited", message: "slow", correlationId: "c" } } },
              ),
          });
        }),
    );
    const clock = new ManualClock(Date.now());
    const { api } = await start(
      { dataDir: dir, relayUrls: [relay.url], hookUrl: hook.url(), outboxConcurrency: 4 },
      { clock },
    );
    const send = async (to: string, payload: string, priority = "normal") =>
      expect((await api("/v1/outbound", postJson({ to, payload, priority }))).status).toBe(202);
    const answer = (payload: string, status = 202, headers?: Record<string, string>) => {
      const index = held.findIndex((entry) => entry.payload === payload);
      expect(index, `${payload} in flight`).toBeGreaterThanOrEqual(0);
      held.splice(index, 1)[0]?.answer(status, headers);
    };
    const bobNormal = () =>
      sends(relay).flatMap((request) => {
        const payload = String(JSON.parse(request.body).payload);
        return payload.startsWith("n") ? [payload] : [];
      });

    for (const payload of ["n1", "n2", "n3"]) await send("bob-agent", payload);
    await send("carol-agent", "c1");
    await send("bob-agent", "k1", "critical");
    // Three streams, three POSTs; n2 and n3 wait for n1 although the drain could run four.
    await waitUntil(() => held.length >= 3, 5_000, "three streams in flight");
    expect(held.map((entry) => entry.payload).sort()).toEqual(["c1", "k1", "n1"]);

    answer("n1", 429, { "retry-after": "5" });
    answer("c1");
    answer("k1");
    // c2 is sent while n1 waits out its Retry-After; n2, older than c2, is still held back.
    await send("carol-agent", "c2");
    await waitUntil(() => held.some((entry) => entry.payload === "c2"), 5_000, "c2 sent");
    answer("c2");
    expect(bobNormal()).toEqual(["n1"]);

    clock.advance(5_000);
    for (const payload of ["n1", "n2", "n3"]) {
      await waitUntil(() => held.some((entry) => entry.payload === payload), 5_000, `${payload} sent`);
      expect(held).toHaveLength(1);
      answer(payload);
    }
    expect(sends(relay)).toHaveLength(7);
    expect(bobNormal()).toEqual(["n1", "n1", "n2", "n3"]);
  });

  it("expires a message that outlived its TTL in the outbox with a local expired receipt", async () => {
    const { dir, hook } = await environment();
    const clock = new ManualClock(Date.now());
    const { api, connector } = await start(
      {
        dataDir: dir,
        relayUrls: [`http://127.0.0.1:${await deadPort()}`],
        hookUrl: hook.url(),
        outboxBackoffBaseMs: 60_000,
        outboxBackoffMaxMs: 60_000,
      },
      { clock, random: () => 1 },
    );
    const posted = await api("/v1/outbound", postJson({ to: "carol-agent", payload: 1, ttlSeconds: 30 }));
    const { outboundId } = posted.body as { outboundId: string };
    await waitUntil(() => connector.store.outbox.get(outboundId)?.attempts === 1, 5_000, "first failed attempt");
    clock.advance(60_000);
    await waitUntil(() => connector.store.outbox.get(outboundId)?.state === "failed", 5_000, "expired");
    const call = await hook.calls.waitFor();
    expect(call.body).toMatchObject({ receipt: { status: "expired", messageId: outboundId } });
  });
});
