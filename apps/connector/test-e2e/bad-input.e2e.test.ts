import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../scripts/lib/connector.mjs";
import { LocalRelay } from "../../../scripts/lib/relay.mjs";
import { BadInputContext } from "./bad-input/context.js";
import { describeErrorCodes } from "./bad-input/error-codes.js";
import { describeHeaderAbuse } from "./bad-input/header-abuse.js";
import { describeSocketAbuse } from "./bad-input/socket-abuse.js";
import { openSocket, sendMessage, signedCall } from "./support/relay-client.js";

// Bad input against one real `wrangler dev`: every error code of PROTOCOL.md §4 reached through
// the running relay, WebSocket abuse, header abuse; then every message the relay accepted along
// the way must still arrive. Test settings: a 20-item queue (one sender's 50 % share is 10 items,
// so 507 is near), at most 4 items in flight (so most of a backlog stays queued, never sent), and
// a trusted relay whose JWKS URL nothing answers (so 503 is reached honestly).
// The describe blocks run in order and share the relay's state.
const ctx = new BadInputContext();

beforeAll(async () => {
  ctx.deadRelay = `http://127.0.0.1:${await freePort()}`;
  ctx.relay = await LocalRelay.start({
    extraVars: { RELAY_QUEUE_MAX_ITEMS: "20", RELAY_MAX_IN_FLIGHT: "4" },
    trustedRelays: [{ origin: ctx.deadRelay, jwksUrl: `${ctx.deadRelay}/.well-known/clawrelay/jwks.json` }],
  });
  // bob becomes a known recipient by reading his own status.
  expect((await signedCall(ctx.relay.url, ctx.bob(), "GET", `/v1/agents/${ctx.bob().id}/status`)).status).toBe(200);
  await ctx.acceptForBob(await sendMessage(ctx.relay.url, ctx.alice(), ctx.bob().id, { payload: { before: "abuse" } }));
});

afterAll(async () => {
  await ctx.relay?.stop();
});

describeErrorCodes(ctx);
describeSocketAbuse(ctx);
describeHeaderAbuse(ctx);

describe("after all that", () => {
  it("every message the relay accepted is delivered to bob, once each, and a new one still gets through", async () => {
    const erin = ctx.agent("erin-bad");
    await ctx.acceptForBob(await sendMessage(ctx.relay.url, erin, ctx.bob().id, { payload: { after: "abuse" } }));
    const socket = await openSocket(ctx.relay.url, ctx.bob(), "after-abuse");
    const ack = await socket.reconnect({ connectorId: "after-abuse" });
    expect(ack.queuedCount).toBe(ctx.acceptedForBob.length);
    const received: string[] = [];
    while (received.length < ctx.acceptedForBob.length) {
      const { items } = await socket.next("deliver");
      received.push(...items.map((i) => i.id));
      socket.send({ type: "ack", ids: items.map((i) => i.id) });
    }
    expect(received.sort()).toEqual([...ctx.acceptedForBob].sort());
    await expect
      .poll(
        async () => {
          const res = await ctx.relay.admin("GET", `/v1/agents/${ctx.bob().id}/status`);
          return ((await res.json()) as { queue: { items: number } }).queue.items;
        },
        { timeout: 10_000 },
      )
      .toBe(0);
    socket.close();
  });
});
