import { ulid } from "ulid";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { openSocket, type WsClient } from "../support/relay-client.js";
import type { BadInputContext } from "./context.js";

interface QueueStatus {
  queue: { items: number; inFlight: number };
}

/**
 * WebSocket abuse on bob's own connector socket (PROTOCOL.md §6). The relay runs with
 * RELAY_MAX_IN_FLIGHT=4, so while bob's backlog is larger most of it stays queued and never sent.
 */
export function describeSocketAbuse(ctx: BadInputContext): void {
  const queue = async (): Promise<QueueStatus["queue"]> => {
    const res = await ctx.relay.admin("GET", `/v1/agents/${ctx.bob().id}/status`);
    expect(res.status).toBe(200);
    const { items, inFlight } = ((await res.json()) as QueueStatus).queue;
    return { items, inFlight };
  };
  const messageState = async (id: string): Promise<string> => {
    const res = await ctx.relay.admin("GET", `/v1/agents/${ctx.bob().id}/messages/${id}`);
    return ((await res.json()) as { state: string }).state;
  };
  /** Frames on one socket are handled in order: once an invalid frame's error comes back, all before it were handled. */
  const barrier = async (socket: WsClient): Promise<void> => {
    socket.send("barrier: not json");
    expect((await socket.next("error")).code).toBe("invalid_frame");
  };

  describe("WebSocket abuse", () => {
    afterEach(() => ctx.expectNothingLost());

    // A socket that never says anything, opened first: its 10 s handshake deadline runs while the
    // other abuse goes on. (wrangler dev sends its close frame at once but only ends the TCP
    // connection when the client gives up on the closing handshake, ws's 30 s; a socket that had
    // sent frames closes at once.)
    let silent: { socket: WsClient; openedAt: number } | null = null;
    beforeAll(async () => {
      const frank = ctx.agent("frank-bad");
      silent = { socket: await openSocket(ctx.relay.url, frank, "silent"), openedAt: Date.now() };
    });

    it("lastReceivedId known but never sent → resync, nothing deleted; acks for unknown or never-sent ids change nothing; non-JSON and unknown types get error frames; the 20th invalid frame closes with 1008", async () => {
      const backlog = ctx.acceptedForBob.length;
      expect(backlog).toBeGreaterThan(4);
      expect(await queue()).toEqual({ items: backlog, inFlight: 0 });
      const neverSent = ctx.acceptedForBob.at(-1) ?? "";
      const socket = await openSocket(ctx.relay.url, ctx.bob(), "abuse-1");
      const ack = await socket.reconnect({ connectorId: "abuse-1", lastReceivedId: neverSent });
      expect(ack).toMatchObject({ role: "active", resync: true, queuedCount: backlog });
      const first = await socket.items(4);
      expect(first.map((i) => i.id)).toEqual(ctx.acceptedForBob.slice(0, 4));

      socket.send({ type: "ack", ids: [ulid(), "not-a-message-id", neverSent] });
      await barrier(socket);
      expect(await queue()).toEqual({ items: backlog, inFlight: 4 });
      expect(await messageState(neverSent)).toBe("queued");

      socket.send("hello, relay");
      expect((await socket.next("error")).code).toBe("invalid_frame");
      socket.send({ type: "subscribe", topic: "everything" });
      expect((await socket.next("error")).code).toBe("invalid_frame");
      socket.send(new Uint8Array([0xff, 0xfe, 0x00]));
      expect((await socket.next("error")).code).toBe("invalid_frame");
      // Four invalid frames so far (the barrier, text, an unknown type, bytes); 15 more keep it open.
      for (let i = 0; i < 15; i++) {
        socket.send(`{"type":"ack","ids":${i}}`);
        expect((await socket.next("error")).code).toBe("invalid_frame");
      }
      expect(socket.closeCode).toBeNull();
      socket.send("the twentieth");
      expect(await socket.closed()).toBe(1008);
      // What was in flight went back to the queue; nothing was deleted.
      await expect.poll(queue, { timeout: 10_000 }).toEqual({ items: backlog, inFlight: 0 });
    });

    it("lastReceivedId from the future → resync, nothing deleted, everything unacknowledged redelivered", async () => {
      const backlog = ctx.acceptedForBob.length;
      const socket = await openSocket(ctx.relay.url, ctx.bob(), "abuse-2");
      const future = ulid(Date.now() + 3_600_000);
      const ack = await socket.reconnect({ connectorId: "abuse-2", lastReceivedId: future });
      expect(ack).toMatchObject({ role: "active", resync: true, queuedCount: backlog, lastAckedId: null });
      expect((await socket.items(4)).map((i) => i.id)).toEqual(ctx.acceptedForBob.slice(0, 4));
      expect(await queue()).toEqual({ items: backlog, inFlight: 4 });
      socket.close();
      await socket.closed();
    });

    it("a 2 MiB frame closes the socket with 1009", async () => {
      const socket = await openSocket(ctx.relay.url, ctx.bob(), "abuse-3");
      await socket.reconnect({ connectorId: "abuse-3" });
      socket.send(JSON.stringify({ type: "ack", ids: ["x".repeat(2 * 1024 * 1024)] }));
      expect(await socket.closed()).toBe(1009);
    });

    it("no reconnect frame within 10 s closes the socket with 1008", async () => {
      if (!silent) throw new Error("the silent socket did not open");
      const { socket, openedAt } = silent;
      const error = await socket.next("error", 20_000);
      expect(error.code).toBe("handshake_timeout");
      expect(Date.now() - openedAt).toBeGreaterThanOrEqual(9_500);
      expect(await socket.closed(60_000)).toBe(1008);
    }, 90_000);
  });
}
