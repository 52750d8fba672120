import { NONCE_PATTERN } from "@clawrelay/protocol";
import { describe, expect, it } from "vitest";
import {
  base64Encode,
  base64urlDecode,
  base64urlEncode,
  contentDigest,
  randomNonce,
  sha256,
  tokenHash,
} from "../src/index.js";

const ascii = (text: string) => new TextEncoder().encode(text);
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

describe("base64url", () => {
  it.each([
    ["", ""],
    ["f", "Zg"],
    ["fo", "Zm8"],
    ["foo", "Zm9v"],
    ["foob", "Zm9vYg"],
    ["fooba", "Zm9vYmE"],
    ["foobar", "Zm9vYmFy"],
  ])("RFC 4648 vector %j", (plain, encoded) => {
    expect(base64urlEncode(ascii(plain))).toBe(encoded);
    expect(base64urlDecode(encoded)).toEqual(ascii(plain));
  });

  it("uses the URL alphabet; standard base64 keeps + / and padding", () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xbf]);
    expect(base64urlEncode(bytes)).toBe("-_-_");
    expect(base64Encode(bytes)).toBe("+/+/");
    expect(base64Encode(new Uint8Array([0xfb]))).toBe("+w==");
  });

  it("round-trips every length and byte value", () => {
    for (let length = 0; length < 70; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(base64urlDecode(base64urlEncode(bytes))).toEqual(bytes);
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(base64urlDecode(base64urlEncode(all))).toEqual(all);
  });

  it.each([
    ["padding", "Zg=="],
    ["impossible length", "Z"],
    ["non-zero trailing bits", "Zh"],
    ["standard alphabet", "+/8"],
    ["whitespace", "Zm9v YmFy"],
    ["non-ASCII", "Zm9vé"],
  ])("refuses %s", (_why, text) => {
    expect(() => base64urlDecode(text)).toThrow(TypeError);
  });
});

describe("digests", () => {
  it("sha256 of a string is over its UTF-8 bytes", async () => {
    expect(hex(await sha256("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256("héllo 👋")).toEqual(await sha256(new TextEncoder().encode("héllo 👋")));
  });

  it("contentDigest is RFC 9530 sha-256 with standard base64", async () => {
    expect(await contentDigest("")).toBe("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
    expect(await contentDigest(new Uint8Array(0))).toBe("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
    expect(await contentDigest("abc")).toBe("sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:");
  });

  it("digests a view of a larger buffer over the view's bytes only", async () => {
    const backing = ascii("xxabcxx");
    expect(await contentDigest(backing.subarray(2, 5))).toBe(await contentDigest("abc"));
  });

  it("tokenHash is base64url of SHA-256", async () => {
    expect(await tokenHash("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  });
});

describe("randomNonce", () => {
  it("is 32 base64url characters and fresh each call", () => {
    const nonces = new Set(Array.from({ length: 50 }, () => randomNonce()));
    expect(nonces.size).toBe(50);
    for (const nonce of nonces) {
      expect(nonce).toHaveLength(32);
      expect(nonce).toMatch(NONCE_PATTERN);
    }
  });
});
