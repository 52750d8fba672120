import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { NONCE_TABLES, nonceGeneration, nonceTableOf } from "../src/session/access/nonces.js";
import { SESSION_MIGRATIONS } from "../src/session/schema.js";
import { errorCode, signedCall, type TestAgent } from "./support/agents.js";
import { realNow, setClock } from "./support/clock.js";
import { knownAgent } from "./support/session.js";
import { advanceClock, sessionStub } from "./support/socket.js";

const WINDOW_MS = 600_000;
const status = (agent: TestAgent, nonce: string) =>
  signedCall(agent, "GET", `/v1/agents/${agent.id}/status`, { nonce });
const nonce = (name: string) => btoa(`nonce-${name}-0000000000`).replace(/=+$/, "");

/** The nonces each table holds, by table name, sorted. */
async function nonceTables(agentId: string): Promise<Record<string, string[]>> {
  return runInDurableObject(sessionStub(agentId), (_instance, state) =>
    Object.fromEntries(
      NONCE_TABLES.map((table) => [
        table,
        state.storage.sql
          .exec<{ nonce: string }>(`SELECT nonce FROM ${table} ORDER BY nonce`)
          .toArray()
          .map((row) => row.nonce),
      ]),
    ),
  );
}

/** Stops the clock `offset` ms into generation `generation` (one generation is one window). */
const at = (agent: TestAgent, generation: number, offset: number) =>
  setClock(sessionStub(agent.id), generation * WINDOW_MS + offset, false);

describe("nonce window (PROTOCOL.md §3)", () => {
  it("refuses a nonce for 600 s after its use, then takes it again", async () => {
    const alice = await knownAgent("alice.nonce");
    const used = nonce("window");
    expect((await status(alice, used)).status).toBe(200);
    await advanceClock(alice.id, 599_000);
    const replay = await status(alice, used);
    expect(replay.status).toBe(401);
    expect(await errorCode(replay)).toBe("replayed_nonce");
    await advanceClock(alice.id, 2_000);
    expect((await status(alice, used)).status).toBe(200);
    // Taken again: refused again within its new window.
    expect(await errorCode(await status(alice, used))).toBe("replayed_nonce");
  });

  it("empties a generation's table only once its nonces expired, and never drops a live one", async () => {
    const bob = await knownAgent("bob.nonce");
    const g = nonceGeneration(realNow()) + 1;
    // The table generation g writes to, and the one g + 1 writes to.
    const [first, second] = [nonceTableOf(g), nonceTableOf(g + 1)];
    const [a, b, c] = [nonce("a"), nonce("b"), nonce("c")];

    await at(bob, g, 1_000);
    expect((await status(bob, a)).status).toBe(200);
    // The next generation: `a` is in the other table and still live for 500 ms.
    await at(bob, g + 1, 500);
    expect(await errorCode(await status(bob, a))).toBe("replayed_nonce");
    expect((await status(bob, b)).status).toBe(200);
    // Past its window, `a` is taken again (into this generation's table).
    await at(bob, g + 1, 1_500);
    expect((await status(bob, a)).status).toBe(200);
    expect(await nonceTables(bob.id)).toEqual({ [first]: [a], [second]: [a, b].sort() });

    // The generation after next empties the first table: it held `a`'s first, expired, use only.
    await at(bob, g + 2, 100);
    expect((await status(bob, c)).status).toBe(200);
    expect(await nonceTables(bob.id)).toEqual({ [first]: [c], [second]: [a, b].sort() });
    // A restart within the generation does not empty its table again; `b` and the second `a`
    // are live in the other table: all three refused by the new instance of the object.
    await abortAllDurableObjects();
    expect(await errorCode(await status(bob, c))).toBe("replayed_nonce");
    expect(await errorCode(await status(bob, b))).toBe("replayed_nonce");
    expect(await errorCode(await status(bob, a))).toBe("replayed_nonce");
    expect(await nonceTables(bob.id)).toEqual({ [first]: [c], [second]: [a, b].sort() });
  });

  it("carries stored nonces over the upgrade to two tables (schema v10): a live one is still refused", async () => {
    const carol = await knownAgent("carol.nonce");
    const g = nonceGeneration(realNow()) + 1;
    const [live, stale, older] = [nonce("live"), nonce("stale"), nonce("older")];
    const v10 = SESSION_MIGRATIONS[9];
    // The session as it was before v10: one table, a live nonce, one just expired, one from long ago.
    await runInDurableObject(sessionStub(carol.id), (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec(`DROP TABLE nonces_even; DROP TABLE nonces_odd; DELETE FROM meta WHERE key = 'nonce_generation';
        CREATE TABLE nonces (sender TEXT NOT NULL, nonce TEXT NOT NULL, expires_at INTEGER NOT NULL,
          PRIMARY KEY (sender, nonce)) WITHOUT ROWID;
        CREATE INDEX nonces_expiry ON nonces (expires_at);`);
      const store = (value: string, storedAt: number) =>
        sql.exec("INSERT INTO nonces VALUES (?, ?, ?)", carol.id, value, storedAt + WINDOW_MS);
      store(live, g * WINDOW_MS + 100_000);
      store(stale, (g - 1) * WINDOW_MS + 200);
      store(older, (g - 3) * WINDOW_MS);
      sql.exec(v10);
    });
    await abortAllDurableObjects();
    expect(await nonceTables(carol.id)).toEqual(
      g % 2 === 0
        ? { nonces_even: [live], nonces_odd: [older, stale].sort() }
        : { nonces_even: [older, stale].sort(), nonces_odd: [live] },
    );
    await at(carol, g, 50_000);
    expect(await errorCode(await status(carol, live))).toBe("replayed_nonce");
    expect((await status(carol, stale)).status).toBe(200);
    // The next generation empties the table `stale` and `older` were carried into; `live` stays.
    await at(carol, g + 1, 1_000);
    expect(await errorCode(await status(carol, live))).toBe("replayed_nonce");
    await at(carol, g + 1, 100_001);
    expect((await status(carol, live)).status).toBe(200);
  });
});
