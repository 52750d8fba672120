import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  generateKeyPair,
  issueIdentityToken,
  parsePrivateJwk,
  parsePublicJwk,
  signReceiptToken,
} from "@clawrelay/signing";
import { ulid } from "ulid";
import { afterEach, describe, expect, it } from "vitest";
import { type Answer, readAnswer, sendMessage, signedCall, signedHeaders } from "../support/relay-client.js";
import { type BadInputContext, expectError, reachedCodes, SECTION_4_CODES } from "./context.js";

/** One test per status of the §4 table, each reaching all of its codes. */
export function describeErrorCodes(ctx: BadInputContext): void {
  describe("every error code of PROTOCOL.md §4, through the running relay", () => {
    afterEach(() => ctx.expectNothingLost());

    const bobMessages = () => `/v1/agents/${ctx.bob().id}/messages`;

    it("400 invalid_request: a malformed header, a body outside the schema", async () => {
      const badNonce = await sendMessage(
        ctx.relay.url,
        ctx.alice(),
        ctx.bob().id,
        { payload: 1 },
        {
          mutate: (h) => {
            h["x-claw-nonce"] = "short";
          },
        },
      );
      expectError(badNonce, 400, "invalid_request");
      expectError(
        await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: 1, priority: "urgent" }),
        400,
        "invalid_request",
      );
      expectError(
        await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: 1, from: "someone-else" }),
        400,
        "invalid_request",
      );
    });

    it("400 invalid_json and 400 digest_mismatch", async () => {
      expectError(
        await signedCall(ctx.relay.url, ctx.alice(), "POST", bobMessages(), { body: "{not json" }),
        400,
        "invalid_json",
      );
      const signedFor = JSON.stringify({ payload: 1 });
      const headers = await signedHeaders(ctx.relay.url, ctx.alice(), "POST", bobMessages(), { body: signedFor });
      const swapped = await fetch(`${ctx.relay.url}${bobMessages()}`, {
        method: "POST",
        headers,
        body: JSON.stringify({ payload: 2 }),
      });
      expectError(await readAnswer(swapped), 400, "digest_mismatch");
    });

    it("401 missing_credentials, invalid_token, token_expired", async () => {
      const bare = await fetch(`${ctx.relay.url}${bobMessages()}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ payload: 1 }),
      });
      expectError(await readAnswer(bare), 401, "missing_credentials");
      const bearer = await sendMessage(
        ctx.relay.url,
        ctx.alice(),
        ctx.bob().id,
        { payload: 1 },
        {
          mutate: (h) => {
            h.authorization = `Bearer ${ctx.alice().token}`;
          },
        },
      );
      expectError(bearer, 401, "missing_credentials");
      const noSignature = await sendMessage(
        ctx.relay.url,
        ctx.alice(),
        ctx.bob().id,
        { payload: 1 },
        {
          mutate: (h) => {
            delete h["x-claw-signature"];
          },
        },
      );
      expectError(noSignature, 401, "missing_credentials");
      expectError(
        await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: 1 }, { token: "not.a.token" }),
        401,
        "invalid_token",
      );

      // A token from the relay's own registry whose lifetime ended an hour ago.
      const registryDir = join(ctx.relay.home, "registry");
      const registryKey = parsePrivateJwk(
        JSON.parse(readFileSync(join(registryDir, "registry.private.jwk.json"), "utf8")),
      );
      const iss = (JSON.parse(readFileSync(join(registryDir, "registry.json"), "utf8")) as { iss: string }).iss;
      const publicJwk = parsePublicJwk(
        JSON.parse(readFileSync(join(ctx.relay.agent(ctx.alice().id), "agent.public.jwk.json"), "utf8")),
      );
      const expired = await issueIdentityToken({
        registryPrivateJwk: registryKey,
        iss,
        sub: ctx.alice().id,
        aud: "clawrelay",
        relay: ctx.relay.url,
        agentPublicJwk: publicJwk,
        lifetimeSeconds: 3600,
        now: Math.floor(Date.now() / 1000) - 7200,
      });
      expectError(
        await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: 1 }, { token: expired }),
        401,
        "token_expired",
      );
    });

    it("401 revoked, timestamp_skew, invalid_signature, replayed_nonce", async () => {
      const mallory = ctx.agent("mallory-bad");
      expect((await signedCall(ctx.relay.url, mallory, "GET", `/v1/agents/${mallory.id}/status`)).status).toBe(200);
      expect((await ctx.relay.admin("POST", "/v1/admin/revocations", { agentId: mallory.id })).status).toBe(201);
      expectError(await signedCall(ctx.relay.url, mallory, "GET", `/v1/agents/${mallory.id}/status`), 401, "revoked");

      const stale = Math.floor(Date.now() / 1000) - 301;
      expectError(
        await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: 1 }, { timestamp: stale }),
        401,
        "timestamp_skew",
      );

      const tampered = await sendMessage(
        ctx.relay.url,
        ctx.alice(),
        ctx.bob().id,
        { payload: 1 },
        {
          correlationId: "corr-bad-sig-0001",
          mutate: (h) => {
            h["x-claw-correlation-id"] = "corr-bad-sig-0002";
          },
        },
      );
      expectError(tampered, 401, "invalid_signature");

      const body = JSON.stringify({ payload: { replay: 1 } });
      const headers = await signedHeaders(ctx.relay.url, ctx.alice(), "POST", bobMessages(), { body });
      const post = () => fetch(`${ctx.relay.url}${bobMessages()}`, { method: "POST", headers, body }).then(readAnswer);
      await ctx.acceptForBob(await post());
      expectError(await post(), 401, "replayed_nonce");
    });

    it("403 sender_blocked and not_owner; 429 rate_limited from bob's per-peer policy", async () => {
      const [carol, dave] = [ctx.agent("carol-bad"), ctx.agent("dave-bad")];
      const policy = { peers: { [dave.id]: { allow: false }, [carol.id]: { ratePerMinute: 1, burst: 1 } } };
      const put = await signedCall(ctx.relay.url, ctx.bob(), "PUT", `/v1/agents/${ctx.bob().id}/policy`, {
        body: JSON.stringify(policy),
      });
      expect(put.status).toBe(200);
      expectError(await sendMessage(ctx.relay.url, dave, ctx.bob().id, { payload: 1 }), 403, "sender_blocked");
      expectError(
        await signedCall(ctx.relay.url, ctx.alice(), "GET", `/v1/agents/${ctx.bob().id}/status`),
        403,
        "not_owner",
      );
      await ctx.acceptForBob(await sendMessage(ctx.relay.url, carol, ctx.bob().id, { payload: { from: "carol" } }));
      const limited = await sendMessage(ctx.relay.url, carol, ctx.bob().id, {
        payload: { from: "carol", again: true },
      });
      expectError(limited, 429, "rate_limited");
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(50);
    });

    it("404 unknown_recipient and not_found", async () => {
      expectError(await sendMessage(ctx.relay.url, ctx.alice(), "ghost-bad", { payload: 1 }), 404, "unknown_recipient");
      expectError(await signedCall(ctx.relay.url, ctx.bob(), "GET", `${bobMessages()}/${ulid()}`), 404, "not_found");
      expectError(await readAnswer(await fetch(`${ctx.relay.url}/v1/nothing-here`)), 404, "not_found");
    });

    it("409 idempotency_key_reused (and 200 for the same body again)", async () => {
      const key = "bad-input-idem-0001";
      const first = await sendMessage(
        ctx.relay.url,
        ctx.alice(),
        ctx.bob().id,
        { payload: { n: 1 } },
        { idempotencyKey: key },
      );
      const messageId = await ctx.acceptForBob(first);
      const again = await sendMessage(
        ctx.relay.url,
        ctx.alice(),
        ctx.bob().id,
        { payload: { n: 1 } },
        { idempotencyKey: key },
      );
      expect(again.status).toBe(200);
      expect(again.json).toMatchObject({ messageId, duplicate: true });
      expectError(
        await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: { n: 2 } }, { idempotencyKey: key }),
        409,
        "idempotency_key_reused",
      );
    });

    it("413 payload_too_large and 415 unsupported_media_type", async () => {
      const big = await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: "x".repeat(300_000) });
      expectError(big, 413, "payload_too_large");
      const text = await signedCall(ctx.relay.url, ctx.alice(), "POST", bobMessages(), {
        body: JSON.stringify({ payload: 1 }),
        contentType: "text/plain",
      });
      expectError(text, 415, "unsupported_media_type");
    });

    it("503 unavailable: a receipt from a trusted relay whose keys cannot be fetched", async () => {
      const keys = await generateKeyPair();
      const token = await signReceiptToken({
        privateJwk: { ...keys.privateJwk, kid: "dead-relay-key" },
        iss: ctx.deadRelay,
        aud: ctx.relay.url,
        sub: ctx.alice().id,
        receipt: { receiptId: ulid(), messageId: ulid(), correlationId: "corr-dead-relay-1", status: "delivered" },
      });
      const res = await fetch(`${ctx.relay.url}/v1/receipts`, {
        method: "POST",
        headers: { "content-type": "application/jwt" },
        body: token,
      });
      expectError(await readAnswer(res), 503, "unavailable");
    });

    it("507 queue_full: one sender holds at most half of the 20-item queue", async () => {
      let accepted = 0;
      let refusal: Answer | null = null;
      for (let i = 0; i < 12 && !refusal; i++) {
        const answer = await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: { fill: i } });
        if (answer.status === 202) {
          await ctx.acceptForBob(answer);
          accepted++;
        } else refusal = answer;
      }
      if (!refusal) throw new Error("the queue never refused alice");
      expectError(refusal, 507, "queue_full");
      // alice already had 3 messages queued for bob (the first, the replayed one, the idempotent one).
      expect(accepted).toBe(10 - 3);
    });

    it("reached every status and code of the §4 table, none left out", () => {
      const table = Object.entries(SECTION_4_CODES).flatMap(([status, codes]) => codes.map((c) => `${status} ${c}`));
      expect([...reachedCodes].sort()).toEqual(expect.arrayContaining(table.sort()));
      expect(table).toHaveLength(20);
    });
  });
}
