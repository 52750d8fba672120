import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import {
  assertNotRevoked,
  forgetRevocationSnapshot,
  REVOCATION_REFRESH_MS,
  type RevocationSource,
  revocationListHealth,
} from "../src/auth/revocations.js";
import type { StatusAggregate } from "../src/metrics/operator-status.js";
import { parseExposition, sampleValue } from "./operator/exposition.js";
import { ADMIN_TOKEN, errorCode, ORIGIN, signedCall } from "./support/agents.js";
import { knownAgent } from "./support/session.js";

/** A revocation list whose loads the test answers one by one. */
function directory() {
  const pending: { resolve: (list: { jtis: string[]; agentIds: string[] }) => void }[] = [];
  const source: RevocationSource = {
    listRevocations: () => new Promise((resolve) => pending.push({ resolve })),
  };
  return { source, pending, answer: (jtis: string[] = []) => pending.shift()?.resolve({ jtis, agentIds: [] }) };
}

const settledWithin = async (promise: Promise<unknown>, ms = 50) =>
  Promise.race([promise.then(() => "settled"), new Promise((resolve) => setTimeout(() => resolve("waiting"), ms))]);

/** The default bound (RELAY_REVOCATION_MAX_STALE_SECONDS); the tests here never reach it. */
const MAX_STALE_MS = 600_000;

beforeEach(() => forgetRevocationSnapshot());
afterEach(() => forgetRevocationSnapshot());

/** A revocation list that answers until the test makes it fail. */
function switchable() {
  const state = { failing: false, loads: 0 };
  const source: RevocationSource = {
    listRevocations: async () => {
      state.loads += 1;
      if (state.failing) throw new Error("directory unreachable");
      return { jtis: ["jti-revoked"], agentIds: [] };
    },
  };
  return { source, state };
}

describe("revocation snapshot (PROTOCOL.md §2: within 60 s)", () => {
  it("no request waits on a refresh another request started: it uses the copy being replaced", async () => {
    const d = directory();
    const first = assertNotRevoked(d.source, "jti-a", "alice", 1_000, MAX_STALE_MS);
    d.answer();
    await first;
    const later = 1_000 + REVOCATION_REFRESH_MS + 1;
    const refresher = assertNotRevoked(d.source, "jti-a", "alice", later, MAX_STALE_MS);
    expect(d.pending).toHaveLength(1);
    // Before the fix this one awaited the refresher's load (a promise of another request).
    expect(await settledWithin(assertNotRevoked(d.source, "jti-a", "alice", later, MAX_STALE_MS))).toBe("settled");
    expect(d.pending).toHaveLength(1);
    d.answer(["jti-a"]);
    await expect(refresher).rejects.toMatchObject({ code: "revoked" });
    await expect(assertNotRevoked(d.source, "jti-a", "alice", later + 1, MAX_STALE_MS)).rejects.toMatchObject({
      code: "revoked",
    });
  });

  it("without any copy yet, concurrent requests each load their own", async () => {
    const d = directory();
    const a = assertNotRevoked(d.source, "jti-b", "bob", 5_000_000, MAX_STALE_MS);
    const b = assertNotRevoked(d.source, "jti-b", "bob", 5_000_000, MAX_STALE_MS);
    expect(d.pending).toHaveLength(2);
    d.answer();
    d.answer();
    await Promise.all([a, b]);
  });

  it("a refresh that never ends (its request was canceled) is given up after 10 s", async () => {
    const d = directory();
    const first = assertNotRevoked(d.source, "jti-c", "carol", 9_000_000, MAX_STALE_MS);
    d.answer();
    await first;
    const stale = 9_000_000 + REVOCATION_REFRESH_MS + 1;
    void assertNotRevoked(d.source, "jti-c", "carol", stale, MAX_STALE_MS);
    await assertNotRevoked(d.source, "jti-c", "carol", stale + 5_000, MAX_STALE_MS);
    expect(d.pending).toHaveLength(1);
    const retry = assertNotRevoked(d.source, "jti-c", "carol", stale + 10_001, MAX_STALE_MS);
    expect(d.pending).toHaveLength(2);
    d.pending[1]?.resolve({ jtis: [], agentIds: ["carol"] });
    await expect(retry).rejects.toMatchObject({ code: "revoked" });
  });
});

describe("a revocation list that cannot be refreshed (RELAY_REVOCATION_MAX_STALE_SECONDS)", () => {
  const t0 = 20_000_000;

  it("is served up to the bound, then refused unavailable (fail closed), and served again once a refresh works", async () => {
    const { source, state } = switchable();
    await assertNotRevoked(source, "jti-ok", "alice", t0, MAX_STALE_MS);
    expect(revocationListHealth(t0, MAX_STALE_MS).state).toBe("fresh");
    state.failing = true;
    await assertNotRevoked(source, "jti-ok", "alice", t0 + REVOCATION_REFRESH_MS, MAX_STALE_MS);
    expect(revocationListHealth(t0 + REVOCATION_REFRESH_MS, MAX_STALE_MS)).toMatchObject({
      state: "stale",
      failingSince: t0 + REVOCATION_REFRESH_MS,
    });
    // The copy still refuses what it knows.
    await expect(
      assertNotRevoked(source, "jti-revoked", "alice", t0 + MAX_STALE_MS, MAX_STALE_MS),
    ).rejects.toMatchObject({
      code: "revoked",
    });
    await expect(
      assertNotRevoked(source, "jti-ok", "alice", t0 + MAX_STALE_MS + 1, MAX_STALE_MS),
    ).rejects.toMatchObject({
      code: "unavailable",
    });
    expect(revocationListHealth(t0 + MAX_STALE_MS + 1, MAX_STALE_MS)).toMatchObject({
      state: "expired",
      ageSeconds: MAX_STALE_MS / 1000 + 0.001,
    });
    state.failing = false;
    await assertNotRevoked(source, "jti-ok", "alice", t0 + MAX_STALE_MS + 2, MAX_STALE_MS);
    expect(revocationListHealth(t0 + MAX_STALE_MS + 2, MAX_STALE_MS)).toMatchObject({
      state: "fresh",
      failingSince: null,
    });
  });

  it("an old copy in a quiet isolate is no problem while refreshes work, nor for the requests beside a refresh", async () => {
    const d = directory();
    const first = assertNotRevoked(d.source, "jti-q", "quiet", t0, MAX_STALE_MS);
    d.answer();
    await first;
    const much = t0 + 2 * MAX_STALE_MS;
    const refresher = assertNotRevoked(d.source, "jti-q", "quiet", much, MAX_STALE_MS);
    await assertNotRevoked(d.source, "jti-q", "quiet", much, MAX_STALE_MS);
    d.answer();
    await refresher;
    expect(revocationListHealth(much, MAX_STALE_MS).state).toBe("fresh");
  });
});

describe("the stale bound through the Worker", () => {
  const { source, state } = switchable();
  const app = createApp({ revocations: () => source });
  const via = (request: Request) => Promise.resolve(app.fetch(request, env, createExecutionContext()));
  const admin = (path: string) =>
    via(new Request(`${ORIGIN}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
  /** This isolate last loaded the list `ageMs` ago, and the directory is unreachable since. */
  async function loadedThenLost(ageMs: number): Promise<void> {
    forgetRevocationSnapshot();
    state.failing = false;
    await assertNotRevoked(source, "jti-prime", "prime", Date.now() - ageMs, MAX_STALE_MS);
    state.failing = true;
  }
  const revocationsView = async () => ((await (await admin("/v1/status")).json()) as StatusAggregate).revocations;
  const exposedState = async () =>
    sampleValue(parseExposition(await (await admin("/v1/metrics")).text()), "clawrelay_revocation_list_state");

  it("within the bound agent requests are served and the views say stale", async () => {
    const alice = await knownAgent("alice");
    await loadedThenLost(100_000);
    expect((await signedCall(alice, "GET", `/v1/agents/${alice.id}/status`, { via })).status).toBe(200);
    expect(await revocationsView()).toMatchObject({ state: "stale", maxStaleSeconds: MAX_STALE_MS / 1000 });
    expect(await exposedState()).toBe(1);
  });

  it("past the bound agent requests get 503 unavailable with Retry-After and the views say expired", async () => {
    const alice = await knownAgent("alice");
    await loadedThenLost(MAX_STALE_MS + 100_000);
    const refused = await signedCall(alice, "GET", `/v1/agents/${alice.id}/status`, { via });
    expect(refused.status).toBe(503);
    expect(await errorCode(refused)).toBe("unavailable");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await revocationsView()).state).toBe("expired");
    expect(await exposedState()).toBe(2);
    state.failing = false;
    expect((await signedCall(alice, "GET", `/v1/agents/${alice.id}/status`, { via })).status).toBe(200);
    expect((await revocationsView()).state).toBe("fresh");
    expect(await exposedState()).toBe(0);
  });
});
