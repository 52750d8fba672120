import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RELAY_DEFAULTS } from "@clawrelay/protocol";
import { parseRegistryJwks, verifyIdentityToken } from "@clawrelay/signing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../daemon/helpers/common.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, expectCleanFailure, runCli } from "./helpers/run-cli.js";

// `clawrelay registry …` and `clawrelay agent …` as real processes, against real files.
const RELAY = "https://relay.example.com";
const DAY = 86_400;
let home: ReturnType<typeof tempDir>;

beforeAll(() => {
  cliBuilt();
  home = tempDir("clawrelay-cli-");
}, CLI_TEST_TIMEOUT_MS);
afterAll(() => home.remove());

const cli = (...args: string[]) => runCli(["--home", home.path, ...args]);
const mode = (path: string) => statSync(path).mode & 0o777;
const read = (path: string) => readFileSync(path, "utf8");
const registryDir = () => join(home.path, "registry");
const agentDir = (id: string) => join(home.path, "agents", id);
/** The registry's public JWKS file, in the REGISTRY_JWKS form relays are given. */
const registryJwks = () =>
  parseRegistryJwks(
    JSON.stringify({ "test-registry": JSON.parse(read(join(registryDir(), "registry.public.jwks.json"))) }),
  );

describe("clawrelay registry init", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("prints REGISTRY_JWKS as one JSON line (public key only) and keeps the private key 0600", async () => {
    const run = await cli("registry", "init", "--iss", "test-registry");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.endsWith("\n")).toBe(true);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
    const printed = parseRegistryJwks(run.stdout);
    const [key] = printed["test-registry"]?.keys ?? [];
    expect(key).toMatchObject({
      kty: "OKP",
      crv: "Ed25519",
      kid: expect.stringMatching(/^test-registry-\d{4}-\d{2}$/),
    });
    expect(run.stdout).not.toMatch(/"d"\s*:/);
    expect(printed).toEqual(registryJwks());

    const privatePath = join(registryDir(), "registry.private.jwk.json");
    expect(mode(privatePath)).toBe(0o600);
    expect(mode(join(registryDir(), "registry.public.jwks.json"))).toBe(0o644);
    expect(JSON.parse(read(privatePath))).toMatchObject({ x: key?.x, d: expect.any(String) });
  });

  it("refuses to overwrite an existing registry without --force (exit 2, files untouched); --force replaces the key", async () => {
    const privatePath = join(registryDir(), "registry.private.jwk.json");
    const before = read(privatePath);
    const refused = await cli("registry", "init", "--iss", "test-registry");
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe("");
    expectCleanFailure(refused, [JSON.parse(before).d]);
    expect(read(privatePath)).toBe(before);

    const forced = await cli("registry", "init", "--iss", "test-registry", "--force", "--kid", "test-registry-k2");
    expect(forced.code, forced.stderr).toBe(0);
    expect(read(privatePath)).not.toBe(before);
    expect(registryJwks()["test-registry"]?.keys[0]?.kid).toBe("test-registry-k2");
    expect(mode(privatePath)).toBe(0o600);
  });
});

describe("clawrelay agent create", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("writes key pair and token with 0600 secrets; the token verifies against the registry and names the key", async () => {
    const run = await cli("agent", "create", "alice-agent", "--relay", `${RELAY}/`);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, string>;
    const dir = agentDir("alice-agent");
    expect(summary).toMatchObject({ id: "alice-agent", dir, relay: RELAY, iss: "test-registry" });

    expect(mode(join(dir, "agent.private.jwk.json"))).toBe(0o600);
    expect(mode(join(dir, "identity.jwt"))).toBe(0o600);
    expect(mode(join(dir, "agent.public.jwk.json"))).toBe(0o644);
    expect(mode(dir)).toBe(0o700);

    const token = read(join(dir, "identity.jwt")).trim();
    const claims = await verifyIdentityToken(token, {
      registries: registryJwks(),
      audience: RELAY_DEFAULTS.RELAY_AUDIENCE,
    });
    const publicJwk = JSON.parse(read(join(dir, "agent.public.jwk.json")));
    expect(claims).toMatchObject({ sub: "alice-agent", relay: RELAY, jti: summary.jti, cnf: { jwk: publicJwk } });
    expect(claims.exp - claims.iat).toBe(30 * DAY);
    expect(new Date(claims.exp * 1000).toISOString()).toBe(summary.expiresAt);
    // Nothing secret on the terminal.
    const privateJwk = JSON.parse(read(join(dir, "agent.private.jwk.json")));
    expect(run.stdout + run.stderr).not.toContain(privateJwk.d);
    expect(run.stdout + run.stderr).not.toContain(token);
  });

  it("refuses bad input with exit 2 and one clean line, creating nothing", async () => {
    const cases = [
      ["agent", "create", "Bad_ID", "--relay", RELAY],
      ["agent", "create", "ab", "--relay", RELAY],
      ["agent", "create", "carol-agent", "--relay", "ftp://relay.example.com"],
      ["agent", "create", "carol-agent", "--relay", `${RELAY}/some/path`],
      ["agent", "create", "carol-agent", "--relay", RELAY, "--days", "91"],
      ["agent", "create", "carol-agent", "--relay", RELAY, "--days", "1.5"],
      ["agent", "create", "carol-agent", "--relay", RELAY, "--registry", join(home.path, "no-registry")],
    ];
    for (const args of cases) {
      const run = await cli(...args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stdout).toBe("");
      expectCleanFailure(run);
    }
    expect(existsSync(agentDir("Bad_ID"))).toBe(false);
    expect(existsSync(agentDir("carol-agent"))).toBe(false);
    // commander's own usage errors (a missing required option) also exit 2.
    expect((await cli("agent", "create", "carol-agent")).code).toBe(2);
  });

  it("will not replace an existing key without --force", async () => {
    const keyPath = join(agentDir("alice-agent"), "agent.private.jwk.json");
    const before = read(keyPath);
    const run = await cli("agent", "create", "alice-agent", "--relay", RELAY);
    expect(run.code).toBe(2);
    expectCleanFailure(run, [JSON.parse(before).d]);
    expect(run.stderr).toContain("clawrelay agent token alice-agent");
    expect(read(keyPath)).toBe(before);
  });
});

describe("clawrelay agent token", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("renews the token for the same key: new jti and expiry, relay and audience kept unless moved", async () => {
    const dir = agentDir("alice-agent");
    const keyBefore = read(join(dir, "agent.private.jwk.json"));
    const tokenBefore = read(join(dir, "identity.jwt"));
    const oldJti = JSON.parse(read(join(dir, "agent.json"))).jti;

    const run = await cli("agent", "token", "alice-agent", "--days", "1");
    expect(run.code, run.stderr).toBe(0);
    expect(read(join(dir, "agent.private.jwk.json"))).toBe(keyBefore);
    const token = read(join(dir, "identity.jwt")).trim();
    expect(token).not.toBe(tokenBefore.trim());
    expect(mode(join(dir, "identity.jwt"))).toBe(0o600);
    const claims = await verifyIdentityToken(token, {
      registries: registryJwks(),
      audience: RELAY_DEFAULTS.RELAY_AUDIENCE,
    });
    expect(claims.jti).not.toBe(oldJti);
    expect(claims).toMatchObject({ sub: "alice-agent", relay: RELAY, cnf: { jwk: { x: JSON.parse(keyBefore).x } } });
    expect(claims.exp - claims.iat).toBe(DAY);
    expect(JSON.parse(run.stdout)).toMatchObject({ jti: claims.jti, relay: RELAY });

    const moved = await cli("agent", "token", dir, "--relay", "https://other-relay.example.com");
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(read(join(dir, "agent.json")))).toMatchObject({ relay: "https://other-relay.example.com" });
  });

  it("fails cleanly for an agent without a key, or with a corrupt key file that must not be echoed", async () => {
    const missing = await cli("agent", "token", "nobody-agent");
    expect(missing.code).toBe(2);
    expectCleanFailure(missing);
    expect(missing.stderr).toContain("clawrelay agent create nobody-agent");

    const secret = "c2VjcmV0LXByaXZhdGUta2V5LW1hdGVyaWFsLTAwMDAw";
    const broken = join(agentDir("alice-agent"), "agent.private.jwk.json");
    const original = read(broken);
    writeFileSync(broken, `{"kty":"OKP","crv":"Ed25519","d":"${secret}",`, { mode: 0o600 });
    try {
      const corrupt = await cli("agent", "token", "alice-agent");
      expect(corrupt.code).toBe(2);
      expectCleanFailure(corrupt, [secret]);
      writeFileSync(broken, JSON.stringify({ kty: "RSA", d: secret }), { mode: 0o600 });
      const wrongShape = await cli("agent", "token", "alice-agent");
      expect(wrongShape.code).toBe(2);
      expectCleanFailure(wrongShape, [secret]);
    } finally {
      writeFileSync(broken, original, { mode: 0o600 });
    }
  });
});
