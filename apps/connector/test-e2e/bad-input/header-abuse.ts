import { ulid } from "ulid";
import { afterEach, describe, expect, it } from "vitest";
import {
  rawErrorCode,
  rawExchange,
  readAnswer,
  sendMessage,
  signedCall,
  signedHeaders,
} from "../support/relay-client.js";
import { type BadInputContext, expectError } from "./context.js";

/**
 * Header abuse (PROTOCOL.md §3): tokens far too big, NUL and non-ASCII where ids go, repeated
 * headers. fetch refuses to send most of these, so they go over a raw TCP socket. Each is refused
 * with a 4xx (the protocol's JSON error wherever the request reaches the Worker), nothing is
 * queued, and the relay keeps answering.
 */
export function describeHeaderAbuse(ctx: BadInputContext): void {
  const bobMessages = () => `/v1/agents/${ctx.bob().id}/messages`;
  const queuedForBob = async (): Promise<number> => {
    const res = await ctx.relay.admin("GET", `/v1/agents/${ctx.bob().id}/status`);
    return ((await res.json()) as { queue: { items: number } }).queue.items;
  };
  /** A correctly signed POST to bob as raw header lines, for a test to spoil. */
  const signedPostLines = async (body: string, extra: { idempotencyKey?: string } = {}) => {
    const headers = await signedHeaders(ctx.relay.url, ctx.alice(), "POST", bobMessages(), { body, ...extra });
    return {
      request: `POST ${bobMessages()} HTTP/1.1`,
      lines: Object.entries({
        host: `127.0.0.1:${ctx.relay.port}`,
        ...headers,
        "content-length": String(Buffer.byteLength(body)),
      }).map(([name, value]) => `${name}: ${value}`),
    };
  };
  const rawPost = async (
    body: string,
    spoil: (lines: string[]) => string[],
    extra: { idempotencyKey?: string } = {},
  ) => {
    const { request, lines } = await signedPostLines(body, extra);
    return rawExchange(ctx.relay.port, [request, ...spoil(lines)], Buffer.from(body));
  };

  describe("header abuse", () => {
    afterEach(() => ctx.expectNothingLost());

    it("a token over 8 KiB is refused as invalid_token; a 64 KiB Authorization header is refused before it", async () => {
      const before = await queuedForBob();
      const huge = `${ctx.alice().token}${"A".repeat(9000)}`;
      expectError(
        await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: 1 }, { token: huge }),
        401,
        "invalid_token",
      );
      const enormous = await rawPost(JSON.stringify({ payload: 1 }), (lines) =>
        lines.map((l) => (l.startsWith("authorization:") ? `authorization: Claw ${"A".repeat(64 * 1024)}` : l)),
      );
      expect(enormous.status).toBeGreaterThanOrEqual(400);
      expect(enormous.status).toBeLessThan(500);
      expect(await queuedForBob()).toBe(before);
    });

    it("NUL and non-ASCII in agent ids and message ids: 400 invalid_request / 404 not_found", async () => {
      for (const id of ["bob%00bad", "b%C3%B6b-bad", "bob-bad%0A"]) {
        expectError(
          await signedCall(ctx.relay.url, ctx.bob(), "GET", `/v1/agents/${id}/status`),
          400,
          "invalid_request",
        );
        expectError(await sendMessage(ctx.relay.url, ctx.alice(), id, { payload: 1 }), 400, "invalid_request");
      }
      for (const id of [`${ulid()}%00`, "%C3%A9t%C3%A9", "..%2F..%2Fstatus"]) {
        expectError(await signedCall(ctx.relay.url, ctx.bob(), "GET", `${bobMessages()}/${id}`), 404, "not_found");
      }
      // Raw UTF-8 (not percent-encoded) in the request line.
      const raw = await rawExchange(ctx.relay.port, [
        `GET /v1/agents/b\u00f6b/status HTTP/1.1`,
        `host: 127.0.0.1:${ctx.relay.port}`,
      ]);
      expect(raw.status).toBeGreaterThanOrEqual(400);
      expect(raw.status).toBeLessThan(500);
    });

    it("NUL and non-ASCII in the idempotency key, correlation id and nonce: refused, nothing queued", async () => {
      const before = await queuedForBob();
      const body = JSON.stringify({ payload: { header: "abuse" } });
      const swap = (name: string, value: string) => (lines: string[]) =>
        lines.filter((l) => !l.startsWith(`${name}:`)).concat(`${name}: ${value}`);
      const nonAsciiKey = await rawPost(body, swap("x-claw-idempotency-key", "cl\u00e9-idem-00001"), {
        idempotencyKey: "plain-idem-00001",
      });
      expect({ status: nonAsciiKey.status, code: rawErrorCode(nonAsciiKey.text) }).toEqual({
        status: 400,
        code: "invalid_request",
      });
      const nulCorrelation = await rawPost(body, swap("x-claw-correlation-id", "corr-\u0000-00001"));
      expect(nulCorrelation.status).toBeGreaterThanOrEqual(400);
      expect(nulCorrelation.status).toBeLessThan(500);
      const nonAsciiNonce = await rawPost(body, swap("x-claw-nonce", "n\u00f6nce-n\u00f6nce-n\u00f6nce"));
      expect({ status: nonAsciiNonce.status, code: rawErrorCode(nonAsciiNonce.text) }).toEqual({
        status: 400,
        code: "invalid_request",
      });
      expect(await queuedForBob()).toBe(before);
    });

    it("repeated headers: two nonces, keys or signatures → 400 invalid_request, two tokens → 401, two lengths refused", async () => {
      const before = await queuedForBob();
      const body = JSON.stringify({ payload: { header: "twice" } });
      const twice = (name: string, value?: string) => (lines: string[]) => {
        const line = lines.find((l) => l.startsWith(`${name}:`));
        if (!line) throw new Error(`no ${name} line`);
        return [...lines, value === undefined ? line : `${name}: ${value}`];
      };
      const cases: [string, { status: number; code: string | null }, (lines: string[]) => string[], string?][] = [
        ["x-claw-nonce", { status: 400, code: "invalid_request" }, twice("x-claw-nonce")],
        [
          "x-claw-nonce (another)",
          { status: 400, code: "invalid_request" },
          twice("x-claw-nonce", "AAAAAAAAAAAAAAAAAAAAAA"),
        ],
        [
          "x-claw-idempotency-key",
          { status: 400, code: "invalid_request" },
          twice("x-claw-idempotency-key"),
          "twice-idem-00001",
        ],
        ["authorization", { status: 401, code: "invalid_token" }, twice("authorization")],
        ["x-claw-signature", { status: 400, code: "invalid_request" }, twice("x-claw-signature")],
      ];
      for (const [what, expected, spoil, key] of cases) {
        const answer = await rawPost(body, spoil, key ? { idempotencyKey: key } : {});
        expect({ what, status: answer.status, code: rawErrorCode(answer.text) }).toEqual({ what, ...expected });
      }
      // Two different lengths never reach the Worker: the dev server's HTTP layer refuses them
      // (with a bare 500 there; an edge answers 400). Either way nothing may be accepted.
      const twoLengths = await rawPost(body, twice("content-length", String(Buffer.byteLength(body) + 5)));
      expect(twoLengths.status).toBeGreaterThanOrEqual(400);
      expect(rawErrorCode(twoLengths.text)).toBeNull();
      expect(await queuedForBob()).toBe(before);
    });

    it("the relay still answers", async () => {
      const health = await readAnswer(await fetch(`${ctx.relay.url}/healthz`));
      expect(health.status).toBe(200);
      expect(health.json).toMatchObject({ status: "ok" });
    });
  });
}
