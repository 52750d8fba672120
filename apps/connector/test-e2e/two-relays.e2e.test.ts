import { join } from "node:path";
import { type Ed25519PrivateJwk, generateKeyPair, parsePrivateJwk, signReceiptToken } from "@clawrelay/signing";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../../scripts/lib/connector.mjs";
import { cli } from "../../../scripts/lib/relay.mjs";
import { signedFetch } from "./support/signed-fetch.js";
import {
  connectedAt,
  JWKS_PATH,
  receiptsFor,
  type SessionStatusView,
  scratch,
  startTwoRelays,
  statusAt,
  stopTwoRelays,
  type TwoRelays,
} from "./support/two-relays.js";

// Two real `wrangler dev` relays with two registries (support/two-relays.ts): alice is homed on A,
// bob on B; real connectors, real sockets, only webhooks stand in.
let relayA: TwoRelays["relayA"];
let relayB: TwoRelays["relayB"];
let alice: TwoRelays["alice"];
let bob: TwoRelays["bob"];
let retiredB: TwoRelays["retiredB"];
const started: Partial<TwoRelays> = {};

beforeAll(async () => {
  ({ relayA, relayB, alice, bob, retiredB } = await startTwoRelays(started));
});

afterAll(() => stopTwoRelays(started));

describe("two relays, two registries", () => {
  it("alice@A sends straight to bob@B (toRelay); bob gets it; the delivered receipt crosses back to alice", async () => {
    const correlationId = "corr-2r-hello-0001";
    const sent = await alice.connector.send(
      "bob",
      { hello: "bob@B" },
      { toRelay: relayB.url, correlationId, notify: ["delivered"] },
    );
    expect(sent.status).toBe(202);
    await bob.hook.waitFor(
      (h) => h.messages().some((c) => c.body.item?.correlationId === correlationId),
      30_000,
      "bob's message from alice@A",
    );
    const item = bob.hook.messages().find((c) => c.body.item?.correlationId === correlationId)?.body.item;
    expect(item).toMatchObject({ from: "alice", payload: { hello: "bob@B" } });
    await alice.hook.waitFor(
      (h) => receiptsFor(h, correlationId).some((r) => r.status === "delivered"),
      30_000,
      "the delivered receipt from B at alice's hook",
    );
    const outbound = await alice.connector.api<{ state: string; messageId: string; receipts: { status: string }[] }>(
      "GET",
      `/v1/outbound/${sent.json.outboundId}`,
    );
    expect(outbound.json.state).toBe("sent");
    expect(outbound.json.receipts).toEqual([expect.objectContaining({ status: "delivered", recipient: "bob" })]);
    // The message lives on B (A never saw it), and its remote sender may read its record there.
    const record = await signedFetch(
      relayA.agent("alice"),
      "GET",
      `${relayB.url}/v1/agents/bob/messages/${outbound.json.messageId}`,
    );
    expect(record.status).toBe(200);
    expect(record.json).toMatchObject({ from: "alice", to: "bob", correlationId });
    const onA = await relayA.admin("GET", `/v1/agents/bob/messages/${outbound.json.messageId}`);
    expect(onA.status).toBe(404);
  });

  it("bob@B → alice@A the other way: the receipt signed by A verifies at B against A's pinned JWKS", async () => {
    const correlationId = "corr-2r-reverse-0001";
    const sent = await bob.connector.send(
      "alice",
      { hi: "alice@A" },
      { toRelay: relayA.url, correlationId, notify: ["delivered"] },
    );
    expect(sent.status).toBe(202);
    await alice.hook.waitFor((h) => h.messages().some((c) => c.body.item?.correlationId === correlationId), 30_000);
    await bob.hook.waitFor(
      (h) => receiptsFor(h, correlationId).some((r) => r.status === "delivered"),
      30_000,
      "A's delivered receipt at bob's hook",
    );
  });

  it("an agent of a registry B does not trust is refused with invalid_token", async () => {
    const strangerHome = join(scratch, "stranger");
    cli(["--home", strangerHome, "registry", "init", "--iss", "registry-x"]);
    cli(["--home", strangerHome, "agent", "create", "mallory", "--relay", relayA.url]);
    const res = await signedFetch(
      join(strangerHome, "agents", "mallory"),
      "POST",
      `${relayB.url}/v1/agents/bob/messages`,
      {
        payload: { n: 1 },
      },
    );
    expect(res.status).toBe(401);
    expect(res.json.error?.code).toBe("invalid_token");
  });

  it("a remote sender is idempotent and rate limited at B like a local one", async () => {
    const carol = relayA.agent("carol");
    const url = `${relayB.url}/v1/agents/bob/messages`;
    const first = await signedFetch(carol, "POST", url, { payload: { n: 1 } }, "idem-2r-carol-0001");
    expect(first.status).toBe(202);
    expect(first.json.duplicate).toBe(false);
    const again = await signedFetch(carol, "POST", url, { payload: { n: 1 } }, "idem-2r-carol-0001");
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicate: true, messageId: first.json.messageId });
    const otherBody = await signedFetch(carol, "POST", url, { payload: { n: 2 } }, "idem-2r-carol-0001");
    expect(otherBody.status).toBe(409);
    expect(otherBody.json.error?.code).toBe("idempotency_key_reused");
    // bob's per-peer policy applies to carol@A by her agent id: one message a minute.
    expect(
      (await relayB.admin("PUT", "/v1/agents/bob/policy", { peers: { carol: { ratePerMinute: 1, burst: 1 } } })).status,
    ).toBe(200);
    expect((await signedFetch(carol, "POST", url, { payload: { n: 3 } })).status).toBe(202);
    const limited = await signedFetch(carol, "POST", url, { payload: { n: 4 } });
    expect(limited.status).toBe(429);
    expect(limited.json.error?.code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await relayB.admin("PUT", "/v1/agents/bob/policy", { peers: { carol: { allow: false } } })).status).toBe(
      200,
    );
    const blocked = await signedFetch(carol, "POST", url, { payload: { n: 5 } });
    expect(blocked.json.error?.code).toBe("sender_blocked");
    expect((await relayB.admin("PUT", "/v1/agents/bob/policy", {})).status).toBe(200);
  });

  it("B publishes its current and retired receipt keys, public parts only", async () => {
    const res = await fetch(`${relayB.url}${JWKS_PATH}`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    const current = parsePrivateJwk(JSON.parse(relayB.vars.RELAY_SIGNING_JWK));
    expect(keys.map((k) => k.kid)).toEqual([current.kid, "relay-b-retired"]);
    for (const key of keys) expect(key).not.toHaveProperty("d");
  });

  it("receipts POSTed to A: forged, untrusted, not homed and replayed are refused with their own codes; nothing stored", async () => {
    const keyB = parsePrivateJwk(JSON.parse(relayB.vars.RELAY_SIGNING_JWK));
    const forger = await generateKeyPair(keyB.kid);
    const stranger = await generateKeyPair("stranger-1");
    const correlationId = "corr-2r-forged-0001";
    const receipt = (receiptId: string) => ({
      receiptId,
      messageId: ulid(),
      correlationId,
      status: "failed" as const,
      reason: "test",
      recipient: "bob",
      at: Date.now(),
      attempts: 1,
      enqueuedAt: Date.now() - 1000,
    });
    const post = async (privateJwk: Ed25519PrivateJwk, sub: string, receiptId: string, iss = relayB.url) => {
      const token = await signReceiptToken({ privateJwk, iss, aud: relayA.url, sub, receipt: receipt(receiptId) });
      const res = await fetch(`${relayA.url}/v1/receipts`, {
        method: "POST",
        headers: { "content-type": "application/jwt" },
        body: token,
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { error?: { code: string } };
      return { status: res.status, code: body.error?.code };
    };
    const [forgedId, untrustedId, notHomedId, validId, retiredId] = [ulid(), ulid(), ulid(), ulid(), ulid()];
    // Signed with a key A does not trust, under B's kid: the signature fails.
    expect(await post(forger.privateJwk, "alice", forgedId)).toEqual({ status: 401, code: "invalid_signature" });
    expect(await post(stranger.privateJwk, "alice", untrustedId, "http://127.0.0.1:9")).toEqual({
      status: 401,
      code: "invalid_token",
    });
    expect(await post(keyB, "bob", notHomedId)).toEqual({ status: 404, code: "unknown_recipient" });
    expect(await post(keyB, "alice", validId)).toEqual({ status: 202, code: undefined });
    expect(await post(keyB, "alice", validId)).toEqual({ status: 409, code: "idempotency_key_reused" });
    // A key B rotated out is still published, so receipts it signed before the rotation verify.
    expect(await post(retiredB, "alice", retiredId)).toEqual({ status: 202, code: undefined });
    await alice.hook.waitFor(
      (h) => receiptsFor(h, correlationId).some((r) => r.receiptId === retiredId),
      30_000,
      "the receipts A accepted, at alice's hook",
    );
    // Receipts reach the hook in arrival order: anything stored before the accepted ones is there by now.
    expect(receiptsFor(alice.hook, correlationId).map((r) => r.receiptId)).toEqual([validId, retiredId]);
  });

  it("a message that expires at B gives alice's connector an expired receipt with the original correlation id", async () => {
    await bob.connector.stop();
    await connectedAt(relayB, "bob", false);
    const correlationId = "corr-2r-expire-0001";
    const sent = await alice.connector.send(
      "bob",
      { n: "expires" },
      { toRelay: relayB.url, ttlSeconds: 2, correlationId },
    );
    expect(sent.status).toBe(202);
    await alice.hook.waitFor(
      (h) => receiptsFor(h, correlationId).some((r) => r.status === "expired"),
      30_000,
      "the expired receipt from B",
    );
    const [expired] = receiptsFor(alice.hook, correlationId);
    expect(expired).toMatchObject({ status: "expired", recipient: "bob", correlationId });
    const outbound = await alice.connector.api<{ messageId: string; receipts: { status: string }[] }>(
      "GET",
      `/v1/outbound/${sent.json.outboundId}`,
    );
    expect(outbound.json.receipts).toEqual([
      expect.objectContaining({ status: "expired", messageId: outbound.json.messageId }),
    ]);
  });

  it("with A stopped, B's receipts wait behind an open breaker shown in bob's status, and arrive once A is back", async () => {
    // bob offline, so the message expires at B and its receipt is due to A.
    await bob.connector.stop();
    await connectedAt(relayB, "bob", false);
    await relayA.stop();
    const correlationId = "corr-2r-outage-0001";
    // alice's connector and B both still work: the send goes straight to B.
    const sent = await alice.connector.send(
      "bob",
      { n: "during the outage" },
      { toRelay: relayB.url, ttlSeconds: 1, correlationId },
    );
    expect(sent.status).toBe(202);
    await waitUntil(
      async () =>
        (await alice.connector.api<{ state: string }>("GET", `/v1/outbound/${sent.json.outboundId}`)).json.state ===
        "sent",
      20_000,
      "B to accept alice's message while A is down",
    );
    let breaker: SessionStatusView["receiptBreakers"][number] | undefined;
    await waitUntil(
      async () => {
        breaker = (await statusAt(relayB, "bob")).receiptBreakers.find((b) => b.destination === relayA.url);
        return breaker?.state === "open";
      },
      30_000,
      "B's breaker for A to open",
    );
    expect(breaker?.consecutiveFailures).toBeGreaterThanOrEqual(5);
    expect(receiptsFor(alice.hook, correlationId)).toEqual([]);
    await relayA.restart();
    await alice.hook.waitFor(
      (h) => receiptsFor(h, correlationId).some((r) => r.status === "expired"),
      60_000,
      "the expired receipt B kept while A was down",
    );
    // A delivered receipt closes (and clears) the breaker.
    await waitUntil(
      async () => !(await statusAt(relayB, "bob")).receiptBreakers.some((b) => b.destination === relayA.url),
      20_000,
      "B's breaker for A to close",
    );
    expect(receiptsFor(alice.hook, correlationId)).toHaveLength(1);
  });
});
