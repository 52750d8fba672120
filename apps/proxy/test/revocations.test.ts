import { beforeEach, describe, expect, it } from "vitest";
import {
  assertNotRevoked,
  forgetRevocationSnapshot,
  REVOCATION_REFRESH_MS,
  type RevocationSource,
} from "../src/auth/revocations.js";

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

beforeEach(() => forgetRevocationSnapshot());

describe("revocation snapshot (PROTOCOL.md §2: within 60 s)", () => {
  it("no request waits on a refresh another request started: it uses the copy being replaced", async () => {
    const d = directory();
    const first = assertNotRevoked(d.source, "jti-a", "alice", 1_000);
    d.answer();
    await first;
    const later = 1_000 + REVOCATION_REFRESH_MS + 1;
    const refresher = assertNotRevoked(d.source, "jti-a", "alice", later);
    expect(d.pending).toHaveLength(1);
    // Before the fix this one awaited the refresher's load (a promise of another request).
    expect(await settledWithin(assertNotRevoked(d.source, "jti-a", "alice", later))).toBe("settled");
    expect(d.pending).toHaveLength(1);
    d.answer(["jti-a"]);
    await expect(refresher).rejects.toMatchObject({ code: "revoked" });
    await expect(assertNotRevoked(d.source, "jti-a", "alice", later + 1)).rejects.toMatchObject({ code: "revoked" });
  });

  it("without any copy yet, concurrent requests each load their own", async () => {
    const d = directory();
    const a = assertNotRevoked(d.source, "jti-b", "bob", 5_000_000);
    const b = assertNotRevoked(d.source, "jti-b", "bob", 5_000_000);
    expect(d.pending).toHaveLength(2);
    d.answer();
    d.answer();
    await Promise.all([a, b]);
  });

  it("a refresh that never ends (its request was canceled) is given up after 10 s", async () => {
    const d = directory();
    const first = assertNotRevoked(d.source, "jti-c", "carol", 9_000_000);
    d.answer();
    await first;
    const stale = 9_000_000 + REVOCATION_REFRESH_MS + 1;
    void assertNotRevoked(d.source, "jti-c", "carol", stale);
    await assertNotRevoked(d.source, "jti-c", "carol", stale + 5_000);
    expect(d.pending).toHaveLength(1);
    const retry = assertNotRevoked(d.source, "jti-c", "carol", stale + 10_001);
    expect(d.pending).toHaveLength(2);
    d.pending[1]?.resolve({ jtis: [], agentIds: ["carol"] });
    await expect(retry).rejects.toMatchObject({ code: "revoked" });
  });
});
