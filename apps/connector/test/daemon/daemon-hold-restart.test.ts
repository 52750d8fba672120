import { afterEach, describe, expect, it } from "vitest";
import { messageItem, tempDir, waitUntil } from "./helpers/common.js";
import { startTestConnector } from "./helpers/connector.js";
import { FakeRelay } from "./helpers/fake-relay.js";
import { type HookAnswer, HookServer } from "./helpers/hook-server.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const completed: HookAnswer = { status: 200, body: '{"ok":true,"runId":"r","completion":{"status":"ok"}}' };

describe("a hook held for a refused token", () => {
  it("is lifted by a restart: the item that waited is delivered at once, not at its expiry", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const relay = await new FakeRelay().start();
    cleanups.push(() => relay.close());
    let answer: HookAnswer = { status: 401, body: "Unauthorized" };
    const gateway = await new HookServer(() => answer).start();
    cleanups.push(() => gateway.close());
    const config = {
      dataDir: dir.path,
      relayUrls: [relay.url],
      hookUrl: gateway.url("/unused"),
      hookFormat: "openclaw" as const,
      openclaw: { url: gateway.url(""), token: "wrong-token" },
    };
    const first = await startTestConnector(config);
    const connection = await relay.connections.waitFor(() => true);
    await connection.frame("reconnect");
    connection.ack("active");
    // Six hours to live: delivered at its expiry would be far too late.
    connection.send({ type: "deliver", items: [messageItem({ expiresAt: Date.now() + 6 * 3_600_000 })] });
    await waitUntil(() => first.connector.status().hook.state === "held", 5_000, "hook held");
    await first.connector.close();

    answer = completed;
    const second = await startTestConnector({ ...config, openclaw: { url: gateway.url(""), token: "right-token" } });
    cleanups.push(() => second.connector.close());
    const reconnected = await relay.connections.waitFor((c) => c !== connection);
    await reconnected.frame("reconnect");
    reconnected.ack("active");
    await waitUntil(() => gateway.calls.items.length === 2, 5_000, "the waiting item delivered after the restart");
    expect(gateway.calls.items[1]?.headers.authorization).toBe("Bearer right-token");
    expect(second.connector.status().counts).toMatchObject({ inboxPending: 0, deadLetters: 0 });
  });
});
