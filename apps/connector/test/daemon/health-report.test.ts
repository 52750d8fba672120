import { readFileSync } from "node:fs";
import { type ConnectorHealth, connectorFrameSchema, type HealthFrame, parseFrame } from "@clawrelay/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { CONNECTOR_VERSION, HealthReporter } from "../../src/daemon/health-report.js";
import { ManualClock } from "./helpers/clock.js";
import { tempDir } from "./helpers/common.js";
import { startTestConnector } from "./helpers/connector.js";
import { FakeRelay } from "./helpers/fake-relay.js";
import { HookServer } from "./helpers/hook-server.js";

function health(): ConnectorHealth {
  return {
    hook: { breaker: "closed", lastSuccessAt: 1_700_000_000_000 },
    inbox: { pending: 0, oldestAt: null, deadLetters: 0 },
    outbox: { pending: 0, oldestAt: null },
    tokenExpiresAt: 1_800_000_000_000,
    version: CONNECTOR_VERSION,
  };
}

function reporter() {
  const clock = new ManualClock();
  const state = { current: health(), linkUp: true };
  const frames: HealthFrame[] = [];
  const healthReporter = new HealthReporter({
    clock,
    read: () => state.current,
    send: (frame) => {
      if (!state.linkUp) return false;
      expect(parseFrame(JSON.stringify(frame), connectorFrameSchema).ok).toBe(true);
      frames.push(frame);
      return true;
    },
  });
  return { clock, state, frames, reporter: healthReporter };
}

describe("health reporter", () => {
  it("reports after every reconnect_ack, then a change at most once every 10 s", () => {
    const s = reporter();
    s.reporter.connected();
    expect(s.frames).toEqual([{ type: "health", ...health() }]);
    s.clock.advance(1_000);
    s.state.current = { ...health(), hook: { breaker: "open", lastError: "hook_status_503" } };
    s.clock.advance(8_999);
    expect(s.frames).toHaveLength(1);
    s.clock.advance(1);
    expect(s.frames).toHaveLength(2);
    expect(s.frames[1]?.hook).toEqual({ breaker: "open", lastError: "hook_status_503" });
    // Nothing changed: no frame, however long.
    s.clock.advance(60_000);
    expect(s.frames).toHaveLength(2);
    // The next socket gets one at once, unchanged or not.
    s.reporter.disconnected();
    s.reporter.connected();
    expect(s.frames).toHaveLength(3);
  });

  it("a change of the times only sends nothing", () => {
    const s = reporter();
    s.reporter.connected();
    s.state.current = {
      ...health(),
      hook: { breaker: "closed", lastSuccessAt: 1_700_000_500_000 },
      inbox: { pending: 0, oldestAt: 1_700_000_400_000, deadLetters: 0 },
      outbox: { pending: 0, oldestAt: 1_700_000_400_000 },
      tokenExpiresAt: 1_900_000_000_000,
    };
    s.clock.advance(60_000);
    expect(s.frames).toHaveLength(1);
    s.state.current = { ...s.state.current, inbox: { pending: 4, oldestAt: 1_700_000_400_000, deadLetters: 0 } };
    s.clock.advance(10_000);
    expect(s.frames).toHaveLength(2);
  });

  it("sends nothing while the link is down, and stops looking until the next reconnect_ack", () => {
    const s = reporter();
    s.reporter.connected();
    s.reporter.disconnected();
    s.state.current = { ...health(), inbox: { pending: 9, oldestAt: 1, deadLetters: 1 } };
    s.clock.advance(60_000);
    expect(s.frames).toHaveLength(1);
    expect(s.clock.pendingDelays()).toEqual([]);
  });

  it("reports the version package.json names", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(CONNECTOR_VERSION).toBe(pkg.version);
  });
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("health frame from a running connector", () => {
  it("goes after each reconnect_ack with the store's counts and the hook's state", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const relay = await new FakeRelay().start();
    cleanups.push(() => relay.close());
    const hook = await new HookServer(() => ({ status: 200 })).start();
    cleanups.push(() => hook.close());
    const { connector } = await startTestConnector({ dataDir: dir.path, relayUrls: [relay.url], hookUrl: hook.url() });
    cleanups.push(() => connector.close());
    const first = await relay.connections.waitFor(() => true, 0);
    await first.frame("reconnect");
    first.ack("standby");
    expect(await first.frame("health")).toEqual({
      type: "health",
      hook: { breaker: "closed" },
      inbox: { pending: 0, oldestAt: null, deadLetters: 0 },
      outbox: { pending: 0, oldestAt: null },
      tokenExpiresAt: null,
      version: CONNECTOR_VERSION,
    });
    first.socket.close(1011, "restart");
    const second = await relay.connections.waitFor(() => true, 1);
    await second.frame("reconnect");
    second.ack("active");
    expect((await second.frame("health")).version).toBe(CONNECTOR_VERSION);
  });
});
