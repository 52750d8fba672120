import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { ulid } from "ulid";
import { describe, expect, it } from "vitest";
import { errorCode, signedCall, type TestAgent } from "./support/agents.js";
import { setClock } from "./support/clock.js";
import { knownAgent, uniqueId } from "./support/session.js";

/** Signed requests into another agent's session: refused before a nonce is stored, or rate-limited per reader. */

const stub = (agentId: string) => env.RELAY_SESSION.get(env.RELAY_SESSION.idFromName(agentId));

function rows(agentId: string, query: string, ...params: string[]): Promise<number> {
  return runInDurableObject(
    stub(agentId),
    (_instance, state) => state.storage.sql.exec<{ n: number }>(query, ...params).one().n,
  );
}
const noncesFrom = (session: string, sender: string) =>
  rows(
    session,
    "SELECT (SELECT COUNT(*) FROM nonces_even WHERE sender = ?1) + (SELECT COUNT(*) FROM nonces_odd WHERE sender = ?1) AS n",
    sender,
  );

/** Stops the clock, so the session's read bucket refills only when the test says. */
function freezeClock(agentId: string): Promise<void> {
  return setClock(stub(agentId), Date.now(), false);
}

const readRecord = (reader: TestAgent, owner: string) =>
  signedCall(reader, "GET", `/v1/agents/${owner}/messages/${ulid()}`);

describe("owner-only routes are refused in the Worker", () => {
  it("status, policy and connect of another agent: 403 not_owner, and no nonce of the caller's in that session", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const refused = [
      await signedCall(alice, "GET", `/v1/agents/${bob.id}/status`),
      await signedCall(alice, "PUT", `/v1/agents/${bob.id}/policy`, { body: JSON.stringify({ peers: {} }) }),
      await signedCall(alice, "GET", `/v1/agents/${bob.id}/connect`, {
        mutate: (i) => (i.headers.upgrade = "websocket"),
      }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(403);
      expect(await errorCode(res)).toBe("not_owner");
    }
    expect(await noncesFrom(bob.id, alice.id)).toBe(0);
  });

  it("a malformed path id is still invalid_request", async () => {
    const alice = await knownAgent("alice");
    const res = await signedCall(alice, "GET", "/v1/agents/NOT_AN_ID/status");
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("invalid_request");
  });
});

describe("reading another agent's message records", () => {
  it("each reader has a bucket (RELAY_RATE_BURST, refilled at RELAY_RATE_PER_MINUTE) taken before its nonce", async () => {
    const [alice, carol, bob] = [await knownAgent("alice"), await knownAgent("carol"), await knownAgent("bob")];
    await freezeClock(bob.id);
    for (let n = 0; n < 30; n++) {
      const res = await readRecord(alice, bob.id);
      expect(res.status).toBe(404);
      expect(await errorCode(res)).toBe("not_found");
    }
    const limited = await readRecord(alice, bob.id);
    expect(limited.status).toBe(429);
    expect(await errorCode(limited)).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await noncesFrom(bob.id, alice.id)).toBe(30);
    // Another reader has its own bucket; bob reading his own session has none.
    expect(await errorCode(await readRecord(carol, bob.id))).toBe("not_found");
    expect(await errorCode(await readRecord(bob, bob.id))).toBe("not_found");
  });

  it("a session that was never known answers not_found and stores nothing", async () => {
    const alice = await knownAgent("alice");
    const ghost = uniqueId("ghost");
    const res = await readRecord(alice, ghost);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe("not_found");
    expect(
      await rows(ghost, "SELECT (SELECT COUNT(*) FROM nonces_even) + (SELECT COUNT(*) FROM nonces_odd) AS n"),
    ).toBe(0);
    expect(await rows(ghost, "SELECT COUNT(*) AS n FROM meta")).toBe(0);
  });
});
