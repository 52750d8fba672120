import { CORRELATION_ID_PATTERN } from "@clawrelay/protocol";
import { decodeTime } from "ulid";
import { describe, expect, it } from "vitest";
import { newUlid } from "../src/platform/ids.js";

describe("newUlid", () => {
  it("encodes the time as the ulid package reads it, in 26 Crockford characters", () => {
    for (const at of [0, 1, 1_700_000_000_123, 2 ** 48 - 1]) {
      const id = newUlid(at);
      expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(decodeTime(id)).toBe(at);
    }
    expect(newUlid()).toMatch(CORRELATION_ID_PATTERN);
  });

  it("sorts by time and differs within a millisecond", () => {
    expect(newUlid(1000) < newUlid(1001)).toBe(true);
    const ids = new Set(Array.from({ length: 1000 }, () => newUlid(5)));
    expect(ids.size).toBe(1000);
  });

  it("uses every random character about evenly", () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 2000; i++) for (const ch of newUlid(7).slice(10)) seen.set(ch, (seen.get(ch) ?? 0) + 1);
    // 32,000 characters over 32 symbols: 1,000 each expected; a skew of a few bits would show.
    expect(seen.size).toBe(32);
    for (const count of seen.values()) expect(count).toBeGreaterThan(800);
  });

  it("refuses a time it cannot encode", () => {
    for (const at of [-1, 1.5, 2 ** 48]) expect(() => newUlid(at)).toThrow(RangeError);
  });
});
