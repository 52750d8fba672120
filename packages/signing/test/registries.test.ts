import { describe, expect, it } from "vitest";
import { parseRegistryJwks } from "../src/index.js";

const key = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid: "registry-2026-01" };
const secret = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

describe("parseRegistryJwks", () => {
  it("parses registries and keeps only the public members of each key", () => {
    const parsed = parseRegistryJwks(
      JSON.stringify({ "example-registry": { keys: [{ ...key, alg: "EdDSA", use: "sig" }] } }),
    );
    expect(parsed).toEqual({ "example-registry": { keys: [key] } });
  });

  it("accepts an empty set (a relay trusting nobody yet)", () => {
    expect(parseRegistryJwks("{}")).toEqual({});
  });

  it.each([
    ["not JSON", "{"],
    ["not an object", "[]"],
    ["keys missing", JSON.stringify({ r: {} })],
    ["a key without kid", JSON.stringify({ r: { keys: [{ ...key, kid: undefined }] } })],
    ["a duplicate kid", JSON.stringify({ r: { keys: [key, key] } })],
    ["a non-Ed25519 key", JSON.stringify({ r: { keys: [{ ...key, crv: "P-256" }] } })],
    ["an empty issuer", JSON.stringify({ "": { keys: [key] } })],
  ])("refuses %s", (_why, json) => {
    expect(() => parseRegistryJwks(json)).toThrow(Error);
  });

  it("refuses a private key without echoing it", () => {
    const attempt = () => parseRegistryJwks(JSON.stringify({ r: { keys: [{ ...key, d: secret }] } }));
    expect(attempt).toThrow(/private/);
    try {
      attempt();
    } catch (err) {
      expect(String(err)).not.toContain(secret);
    }
  });
});
