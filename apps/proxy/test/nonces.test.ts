import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { errorCode, signedCall, type TestAgent } from "./support/agents.js";
import { knownAgent } from "./support/session.js";
import { advanceClock, sessionStub } from "./support/socket.js";

const status = (agent: TestAgent, nonce: string) =>
  signedCall(agent, "GET", `/v1/agents/${agent.id}/status`, { nonce });

async function nonceRows(agentId: string): Promise<{ expired: number; live: number }> {
  return runInDurableObject(sessionStub(agentId), (_instance, state) => {
    const now = Date.now();
    const row = state.storage.sql
      .exec<{ expired: number; live: number }>(
        "SELECT SUM(expires_at < ?) AS expired, SUM(expires_at >= ?) AS live FROM nonces",
        now,
        now,
      )
      .one();
    return { expired: row.expired ?? 0, live: row.live ?? 0 };
  });
}

describe("nonce window (PROTOCOL.md §3)", () => {
  it("refuses a nonce for 600 s after its use, then takes it again", async () => {
    const alice = await knownAgent("alice.nonce");
    const nonce = "d2luZG93LW5vbmNlLTAwMDAx";
    expect((await status(alice, nonce)).status).toBe(200);
    await advanceClock(alice.id, 599_000);
    const replay = await status(alice, nonce);
    expect(replay.status).toBe(401);
    expect(await errorCode(replay)).toBe("replayed_nonce");
    await advanceClock(alice.id, 2_000);
    expect((await status(alice, nonce)).status).toBe(200);
    // Taken again: refused again within its new window.
    expect(await errorCode(await status(alice, nonce))).toBe("replayed_nonce");
  });

  it("sweeps expired nonces a bounded batch per request and never a live one", async () => {
    const bob = await knownAgent("bob.nonce");
    await runInDurableObject(sessionStub(bob.id), (_instance, state) => {
      const now = Date.now();
      for (let i = 0; i < 100; i++) {
        state.storage.sql.exec(
          "INSERT INTO nonces (sender, nonce, expires_at) VALUES (?, ?, ?)",
          "old",
          `n${i}`,
          now - 1 - i,
        );
      }
    });
    // Rows written behind the session's back: a new session object reads the oldest expiry again
    // (the running one keeps it in memory and would not sweep before its own nonces expire).
    await abortAllDurableObjects();
    const before = await nonceRows(bob.id);
    expect(before.expired).toBe(100);
    expect((await status(bob, "c3dlZXAtbm9uY2UtMDAwMDAx")).status).toBe(200);
    const after = await nonceRows(bob.id);
    expect(after.expired).toBe(100 - 32);
    expect(after.live).toBe(before.live + 1);
    for (let i = 2; i <= 4; i++) expect((await status(bob, `c3dlZXAtbm9uY2UtMDAwMDA${i}`)).status).toBe(200);
    expect(await nonceRows(bob.id)).toEqual({ expired: 0, live: before.live + 4 });
  });
});
