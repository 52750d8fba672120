import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { RelayError } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import { Sql } from "../src/platform/sql.js";
import { SendBuckets } from "../src/session/queue/rate-limit.js";
import { METRICS_FLUSH_AFTER_MS } from "../src/session/write-behind.js";
import { signedCall } from "./support/agents.js";
import { knownAgent, send, sendOk } from "./support/session.js";
import { advanceClock, fireAlarm, sessionStub } from "./support/socket.js";

function storedTokens(agentId: string, sender: string) {
  return runInDurableObject(sessionStub(agentId), (_instance, state) => {
    const row = state.storage.sql
      .exec<{ tokens: number }>("SELECT tokens FROM rate_buckets WHERE sender = ?", sender)
      .toArray()[0];
    return row?.tokens ?? null;
  });
}

/** Issue 18: send buckets are kept in memory and written behind; the table stays the truth. */
describe("send rate buckets", () => {
  it("still refuse after the session object restarts, and refill on the clock", async () => {
    const [alice, bob] = [await knownAgent("alice.rb"), await knownAgent("bob.rb")];
    const policy = await signedCall(bob, "PUT", `/v1/agents/${bob.id}/policy`, {
      body: JSON.stringify({ peers: { [alice.id]: { ratePerMinute: 1, burst: 2 } } }),
    });
    expect(policy.status).toBe(200);
    await sendOk(alice, bob, { payload: 1 });
    await sendOk(alice, bob, { payload: 2 });
    const cached = await send(alice, bob, { payload: 3 });
    expect([cached.status, cached.json.error?.code]).toEqual([429, "rate_limited"]);
    // Written behind: the flush deadline's alarm writes the spent bucket (1/min: 5 s refill no token).
    await advanceClock(bob.id, METRICS_FLUSH_AFTER_MS);
    await fireAlarm(bob.id);
    expect(await storedTokens(bob.id, alice.id)).toBeLessThan(1);
    await abortAllDurableObjects();
    // A new object: the bucket comes from the table, empty as the old object left it.
    const restarted = await send(alice, bob, { payload: 4 });
    expect([restarted.status, restarted.json.error?.code]).toEqual([429, "rate_limited"]);
    await advanceClock(bob.id, 60_001);
    await sendOk(alice, bob, { payload: 5 });
    const again = await send(alice, bob, { payload: 6 });
    expect(again.status).toBe(429);
  });

  it("keep at most their bound in memory; one that fell out keeps its unwritten spending", async () => {
    const bob = await knownAgent("bob.rbl");
    await runInDurableObject(sessionStub(bob.id), (_instance, state) => {
      const buckets = new SendBuckets(new Sql(state.storage.sql), 2);
      const rule = { ratePerMinute: 1, burst: 1 };
      const now = Date.now();
      for (const sender of ["s1", "s2", "s3"]) buckets.take(sender, rule, now);
      expect(buckets.size).toBe(2);
      // s1 left the map first (least recently used); its spent token waits for the flush.
      const refused = (() => {
        try {
          buckets.take("s1", rule, now);
          return null;
        } catch (err) {
          return err instanceof RelayError ? err.code : "other";
        }
      })();
      expect(refused).toBe("rate_limited");
      expect(buckets.size).toBe(2);
      // Flushed, the table holds every spent bucket: a restarted session refuses s1 too.
      buckets.flush();
      const restarted = new SendBuckets(new Sql(state.storage.sql), 2);
      expect(() => restarted.take("s1", rule, now)).toThrow(RelayError);
      // A minute later each has its token again, whether held in memory or not.
      for (const sender of ["s1", "s2", "s3"]) buckets.take(sender, rule, now + 60_000);
    });
  });
});
