import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseRegistryJwks, verifyIdentityToken } from "@clawrelay/signing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../daemon/helpers/common.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, runCli } from "./helpers/run-cli.js";

// `clawrelay agent renew`: a new token for the same key, relay and audience, as long-lived as the
// one it replaces; with --within, only when the current one is close to its expiry.
const DAY = 86_400;
let home: ReturnType<typeof tempDir>;
const cli = (...args: string[]) => runCli(["--home", home.path, ...args]);
const dir = (id: string) => join(home.path, "agents", id);
const token = (id: string) => readFileSync(join(dir(id), "identity.jwt"), "utf8").trim();
const jwks = () =>
  parseRegistryJwks(
    JSON.stringify({
      "test-registry": JSON.parse(readFileSync(join(home.path, "registry", "registry.public.jwks.json"), "utf8")),
    }),
  );
const claimsOf = async (id: string) => verifyIdentityToken(token(id), { registries: jwks(), audience: "clawrelay" });

beforeAll(async () => {
  cliBuilt();
  home = tempDir("clawrelay-renew-");
  expect((await cli("registry", "init", "--iss", "test-registry")).code).toBe(0);
}, CLI_TEST_TIMEOUT_MS);
afterAll(() => home.remove());

describe("clawrelay agent renew", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it("re-issues a short-lived token due within --within days: same key, relay and lifetime, a new jti", async () => {
    const created = await cli("agent", "create", "short-agent", "--relay", "https://relay.example.com", "--days", "3");
    expect(created.code, created.stderr).toBe(0);
    const before = await claimsOf("short-agent");

    const run = await cli("agent", "renew", "short-agent", "--within", "7");
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: "short-agent", renewed: true });
    const after = await claimsOf("short-agent");
    expect(after.jti).not.toBe(before.jti);
    expect(after.cnf.jwk).toEqual(before.cnf.jwk);
    expect(after.relay).toBe(before.relay);
    expect(after.exp - after.iat).toBe(3 * DAY);
    expect(after.exp).toBeGreaterThanOrEqual(before.exp);
  });

  it("leaves a token that is not due alone (renewed: false, file unchanged)", async () => {
    expect((await cli("agent", "create", "long-agent", "--relay", "https://relay.example.com")).code).toBe(0);
    const before = token("long-agent");
    const run = await cli("agent", "renew", "long-agent", "--within", "7");
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: "long-agent", renewed: false });
    expect(token("long-agent")).toBe(before);
    // Without --within it renews now, --days overriding the lifetime.
    expect((await cli("agent", "renew", "long-agent", "--days", "10")).code).toBe(0);
    const claims = await claimsOf("long-agent");
    expect(claims.exp - claims.iat).toBe(10 * DAY);
  });
});
