import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Ed25519PrivateJwk, generateKeyPair, parsePrivateJwk } from "@clawrelay/signing";
import { expect } from "vitest";
import { type ConnectorProcess, freePort, waitUntil } from "../../../../scripts/lib/connector.mjs";
import type { StandInHook } from "../../../../scripts/lib/hook.mjs";
import { LocalRelay, prepareRelayHome } from "../../../../scripts/lib/relay.mjs";
import { agentWithConnector as startAgent } from "./agents.js";

// Two real `wrangler dev` relays with two registries (PROTOCOL.md §2, §7): alice is homed on A,
// bob on B. A trusts B's receipt keys through B's JWKS URL (jose's remote key set); B pins A's
// JWKS. Each trusts the other's registry. Real connectors, real sockets; only webhooks stand in.
export const scratch = mkdtempSync(join(tmpdir(), "clawrelay-two-relays-"));
export const JWKS_PATH = "/.well-known/clawrelay/jwks.json";
const cleanup: (() => Promise<unknown>)[] = [];

type Agent = { hook: StandInHook; connector: ConnectorProcess };
export interface TwoRelays {
  relayA: LocalRelay;
  relayB: LocalRelay;
  alice: Agent;
  bob: Agent;
  /** A key B retired: no longer its signing key, still published (RELAY_RETIRED_JWKS). */
  retiredB: Ed25519PrivateJwk;
}
async function twoDistinctPorts(): Promise<[number, number]> {
  const first = await freePort();
  for (;;) {
    const second = await freePort();
    if (second !== first) return [first, second];
  }
}

function publicJwks(privateJwkText: string) {
  const { kty, crv, x, kid } = parsePrivateJwk(JSON.parse(privateJwkText));
  return { keys: [{ kty, crv, x, kid, alg: "EdDSA", use: "sig" }] };
}

function registryOf(vars: { REGISTRY_JWKS: string }, iss: string): unknown {
  return (JSON.parse(vars.REGISTRY_JWKS) as Record<string, unknown>)[iss];
}

function agentWithConnector(relay: LocalRelay, id: string, trustedRelays: string[]) {
  return startAgent(relay, cleanup, {
    id,
    dataDir: join(scratch, `connector-${id}`),
    // Relay A goes down and comes back in one test: reconnect and resend quickly. Each agent sends
    // to the other's relay by toRelay, which a connector allows only for a trusted relay.
    extra: { reconnectMaxMs: 1000, outboxBackoffMaxMs: 1000, trustedRelays },
  });
}

export interface SessionStatusView {
  connections: { connectorId: string; role: string }[];
  receiptBreakers: { destination: string; state: string; consecutiveFailures: number }[];
}

export async function statusAt(relay: LocalRelay, agentId: string): Promise<SessionStatusView> {
  const res = await relay.admin("GET", `/v1/agents/${agentId}/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as SessionStatusView;
}

export function receiptsFor(hook: StandInHook, correlationId: string) {
  return hook
    .receipts()
    .flatMap((call) => (call.body.receipt?.correlationId === correlationId ? [call.body.receipt] : []));
}

export async function connectedAt(relay: LocalRelay, agentId: string, wanted: boolean) {
  await waitUntil(
    async () => (await statusAt(relay, agentId)).connections.some((c) => c.role === "active") === wanted,
    20_000,
    `${agentId} ${wanted ? "connected to" : "gone from"} ${relay.url}`,
  );
}

/**
 * Both relays started, alice connected to A and bob to B. Each part is put into `started` as soon
 * as it runs, so `stopTwoRelays(started)` stops what a failed start left running.
 */
export async function startTwoRelays(started: Partial<TwoRelays>): Promise<TwoRelays> {
  const [portA, portB] = await twoDistinctPorts();
  const [originA, originB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  const [homeA, homeB] = [join(scratch, "relay-a"), join(scratch, "relay-b")];
  // Make both homes (registries, receipt keys) first, so each relay can name the other's keys.
  const varsA = await prepareRelayHome({ home: homeA, origin: originA, iss: "registry-a" });
  const varsB = await prepareRelayHome({ home: homeB, origin: originB, iss: "registry-b" });
  const retired = await generateKeyPair("relay-b-retired");
  started.retiredB = retired.privateJwk;
  const [relayA, relayB] = await Promise.all([
    LocalRelay.start({
      home: homeA,
      port: portA,
      iss: "registry-a",
      extraRegistries: { "registry-b": registryOf(varsB, "registry-b") },
      trustedRelays: [{ origin: originB, jwksUrl: `${originB}${JWKS_PATH}` }],
    }).then((relay) => {
      started.relayA = relay;
      return relay;
    }),
    LocalRelay.start({
      home: homeB,
      port: portB,
      iss: "registry-b",
      extraRegistries: { "registry-a": registryOf(varsA, "registry-a") },
      trustedRelays: [{ origin: originA, jwks: publicJwks(varsA.RELAY_SIGNING_JWK) }],
      extraVars: {
        // Receipts to A retry every few hundred ms and the breaker reopens for 3 s, so an outage
        // of A opens it within seconds and its end is noticed within seconds.
        RELAY_RECEIPT_RETRY_BASE_MS: "200",
        RELAY_RECEIPT_RETRY_MAX_MS: "1000",
        RELAY_RECEIPT_BREAKER_OPEN_MS: "3000",
        RELAY_RETIRED_JWKS: JSON.stringify({ keys: [retired.publicJwk] }),
      },
    }).then((relay) => {
      started.relayB = relay;
      return relay;
    }),
  ]);
  const trusted = [relayA.url, relayB.url];
  const alice = await agentWithConnector(relayA, "alice", trusted);
  const bob = await agentWithConnector(relayB, "bob", trusted);
  await Promise.all([connectedAt(relayA, "alice", true), connectedAt(relayB, "bob", true)]);
  return { relayA, relayB, alice, bob, retiredB: retired.privateJwk };
}

export async function stopTwoRelays(started: Partial<TwoRelays>): Promise<void> {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await Promise.all([started.relayA?.stop(), started.relayB?.stop()]);
}
