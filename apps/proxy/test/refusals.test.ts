import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { StatusAggregate } from "../src/metrics/operator-status.js";
import { parseExposition } from "./operator/exposition.js";
import { adminCall, errorCode, makeAgent, ORIGIN, sendMessage, signedCall, type TestAgent } from "./support/agents.js";
import { knownAgent, uniqueId } from "./support/session.js";

/** PROTOCOL.md §3: a request refused before or at the signature never creates, wakes or writes a relay session. */

const bare = (method: string, path: string, init: RequestInit = {}) =>
  exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, ...init }));

const skewed = (i: { headers: Record<string, string> }) =>
  (i.headers["x-claw-timestamp"] = String(Number(i.headers["x-claw-timestamp"]) + 1));

async function sessionExists(agentId: string): Promise<boolean> {
  const wanted = env.RELAY_SESSION.idFromName(agentId).toString();
  return (await listDurableObjectIds(env.RELAY_SESSION)).some((id) => id.toString() === wanted);
}

/** Rows per table of an agent's session (every table the session's migrations made). */
function rowCounts(agentId: string): Promise<Record<string, number>> {
  return runInDurableObject(env.RELAY_SESSION.get(env.RELAY_SESSION.idFromName(agentId)), (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE '\\_%' ESCAPE '\\'",
      )
      .toArray();
    return Object.fromEntries(
      tables.map((t) => [t.name, sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM "${t.name}"`).one().n]),
    );
  });
}

/** Every refusal the tests below make, each with the code it must get. */
async function refuseOnce(target: string, signer: TestAgent): Promise<Record<string, number>> {
  const expected: [Promise<Response>, number, string][] = [
    [bare("GET", `/v1/agents/${target}/status`), 401, "missing_credentials"],
    [bare("GET", `/v1/agents/${target}/connect`, { headers: { upgrade: "websocket" } }), 401, "missing_credentials"],
    [bare("POST", `/v1/agents/${target}/messages`, { body: "{}" }), 401, "missing_credentials"],
    [signedCall(signer, "GET", `/v1/agents/${target}/status`, { mutate: skewed }), 401, "invalid_signature"],
    [sendMessage(signer, target, { payload: 1 }, { mutate: skewed }), 401, "invalid_signature"],
    [signedCall(signer, "GET", `/v1/agents/${target}/status`, { token: "not.a.token" }), 401, "invalid_token"],
    [
      signedCall(signer, "GET", `/v1/agents/${target}/status`, { timestamp: Math.floor(Date.now() / 1000) - 400 }),
      401,
      "timestamp_skew",
    ],
    [
      sendMessage(signer, target, { payload: 1 }, { mutate: (i) => (i.body = JSON.stringify({ payload: 2 })) }),
      400,
      "digest_mismatch",
    ],
  ];
  const counts: Record<string, number> = {};
  for (const [pending, status, code] of expected) {
    const res = await pending;
    expect(res.status, code).toBe(status);
    expect(await errorCode(res)).toBe(code);
    counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}

async function refusedByCode(): Promise<Record<string, number>> {
  const res = await adminCall("GET", "/v1/status");
  expect(res.status).toBe(200);
  return ((await res.json()) as StatusAggregate).refused.byCode;
}

async function exposedByCode(): Promise<Record<string, number>> {
  const res = await adminCall("GET", "/v1/metrics");
  const family = parseExposition(await res.text()).get("clawrelay_auth_failures_total");
  const byCode: Record<string, number> = {};
  for (const sample of family?.samples ?? []) {
    // Keyed by code only: a refused caller's path id must never become a label.
    expect(Object.keys(sample.labels)).toEqual(["code"]);
    byCode[sample.labels.code ?? ""] = sample.value;
  }
  return byCode;
}

const deltas = (after: Record<string, number>, before: Record<string, number>, codes: string[]) =>
  Object.fromEntries(codes.map((code) => [code, (after[code] ?? 0) - (before[code] ?? 0)]));

describe("refused requests (PROTOCOL.md §3)", () => {
  it("unauthenticated and badly signed requests to unknown ids create no relay session", async () => {
    const ghosts: string[] = [];
    for (let n = 0; n < 5; n++) {
      const ghost = uniqueId(`ghost-${n}`);
      ghosts.push(ghost);
      // Signed by a real key for the ghost id itself, but tampered: the signature fails.
      await refuseOnce(ghost, await makeAgent(ghost));
    }
    for (const ghost of ghosts) expect(await sessionExists(ghost), ghost).toBe(false);
  });

  it("refused requests addressed to a known agent write nothing into its session", async () => {
    const [alice, bob] = [await knownAgent("alice"), await knownAgent("bob")];
    const before = await rowCounts(bob.id);
    for (let n = 0; n < 3; n++) await refuseOnce(bob.id, alice);
    expect(await rowCounts(bob.id)).toEqual(before);
  });

  it("their counts show in /v1/status and /v1/metrics by code", async () => {
    const alice = await knownAgent("alice");
    const codes = ["missing_credentials", "invalid_signature", "invalid_token", "timestamp_skew", "digest_mismatch"];
    const [statusBefore, metricsBefore] = [await refusedByCode(), await exposedByCode()];
    const made: Record<string, number> = {};
    for (let n = 0; n < 4; n++) {
      for (const [code, count] of Object.entries(await refuseOnce(uniqueId("ghost"), alice))) {
        made[code] = (made[code] ?? 0) + count;
      }
    }
    // The first refusal's flush runs after its answer (waitUntil); the views send the rest.
    await expect.poll(async () => deltas(await refusedByCode(), statusBefore, codes)).toEqual(made);
    expect(deltas(await exposedByCode(), metricsBefore, codes)).toEqual(made);
  });
});
