import { CONNECTOR_DEFAULTS, type DeliverItem } from "@clawrelay/protocol";
import { afterEach } from "vitest";
import { RelayLink } from "../../../src/daemon/link.js";
import type { DeliverOutcome, LinkOptions, LinkState, LinkTiming, Role } from "../../../src/daemon/link-types.js";
import { ManualClock } from "./clock.js";
import { captureLogger } from "./common.js";
import { FakeRelay, type RelayConnection, Waitable } from "./fake-relay.js";
import { type TestIdentity, testIdentity } from "./signer.js";

/** The connector's default link timing (PROTOCOL.md §8), as the daemon gets it from its config. */
export const TIMING: LinkTiming = {
  reconnectMinMs: CONNECTOR_DEFAULTS.reconnectMinMs,
  reconnectMaxMs: CONNECTOR_DEFAULTS.reconnectMaxMs,
  reconnectResetAfterMs: CONNECTOR_DEFAULTS.reconnectResetAfterMs,
  reconnectFastMaxMs: CONNECTOR_DEFAULTS.reconnectFastMaxMs,
  reconnectFastWindowMs: CONNECTOR_DEFAULTS.reconnectFastWindowMs,
  reconnectFlapSessions: CONNECTOR_DEFAULTS.reconnectFlapSessions,
  pingIntervalMs: CONNECTOR_DEFAULTS.pingIntervalMs,
  pongTimeoutMs: CONNECTOR_DEFAULTS.pongTimeoutMs,
  connectTimeoutMs: 15_000,
};

export type Scheduled = { delayMs: number; relayUrl: string; attempt: number; restartWindow: boolean };

export interface Harness {
  link: RelayLink;
  clock: ManualClock;
  delivered: DeliverItem[][];
  roles: Waitable<{ role: Role; reason: string }>;
  states: Waitable<LinkState>;
  scheduled: Waitable<Scheduled>;
  attempts: Waitable<string>;
  /** Manual-clock time of every connect attempt. */
  attemptTimes: number[];
  pongs: Waitable<number>;
  logs: ReturnType<typeof captureLogger>;
  identity: TestIdentity;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export async function relay(options: ConstructorParameters<typeof FakeRelay>[0] = {}): Promise<FakeRelay> {
  const started = await new FakeRelay(options).start();
  cleanups.push(() => started.close());
  return started;
}

/** A link to `relayUrls` on a manual clock; `takeover` and `timing` make its config with them. */
export async function harness({
  relayUrls,
  takeover = false,
  timing = TIMING,
  ...overrides
}: Partial<Omit<LinkOptions, "config">> & {
  relayUrls: string[];
  takeover?: boolean;
  timing?: LinkTiming;
}): Promise<Harness> {
  const clock = new ManualClock();
  const logs = captureLogger();
  const delivered: DeliverItem[][] = [];
  const identity = await testIdentity();
  const link = new RelayLink({
    config: { ...timing, relayUrls, takeover },
    agentId: "bob-agent",
    connectorId: "connector-test-1",
    signer: identity.signer,
    clock,
    random: () => 1,
    logger: logs.logger,
    resumeState: () => ({ lastReceivedId: "01JLASTRECEIVED", offlineSinceMs: 1_699_999_000_000 }),
    onDeliver: (items): DeliverOutcome => {
      delivered.push(items);
      return { ack: items.map((item) => item.id), nackInboxFull: [] };
    },
    ...overrides,
  });
  const h: Harness = {
    link,
    clock,
    delivered,
    roles: new Waitable(),
    states: new Waitable(),
    scheduled: new Waitable(),
    attempts: new Waitable(),
    attemptTimes: [],
    pongs: new Waitable(),
    logs,
    identity,
  };
  link.on("role", (role, reason) => h.roles.push({ role, reason }));
  link.on("state", (state) => h.states.push(state));
  link.on("reconnect_scheduled", (info) => h.scheduled.push(info));
  link.on("attempt", ({ relayUrl }) => {
    h.attemptTimes.push(clock.now());
    h.attempts.push(relayUrl);
  });
  link.on("pong", () => h.pongs.push(clock.now()));
  cleanups.push(() => link.stop());
  return h;
}

/** Accept `connection` and wait until the link says it is connected. */
export async function establish(h: Harness, connection: RelayConnection): Promise<void> {
  const from = h.states.items.length;
  connection.ack();
  await h.states.waitFor((state) => state === "connected", from);
}

/** Keep a connected link alive for `ms`: one ping interval at a time, each answered by the relay's auto-pong. */
export async function stayConnected(h: Harness, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += TIMING.pingIntervalMs) {
    const pongs = h.pongs.items.length;
    h.clock.advance(Math.min(TIMING.pingIntervalMs, ms - passed));
    if (ms - passed >= TIMING.pingIntervalMs) await h.pongs.waitFor(() => true, pongs);
  }
}
