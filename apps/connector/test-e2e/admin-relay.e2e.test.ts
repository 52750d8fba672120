import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../scripts/lib/connector.mjs";
import { LocalRelay } from "../../../scripts/lib/relay.mjs";
import { hasScript, runInPty } from "../test/cli/helpers/pty.js";
import { cliBuilt, expectCleanFailure, runCli } from "../test/cli/helpers/run-cli.js";
import { loadIdentity, signedCall } from "./support/relay-client.js";

// One real `wrangler dev` started with what `clawrelay relay init` made (its admin token, its
// receipt-signing key, its REGISTRY_JWKS), then driven with `clawrelay admin` as an operator would.
const home = mkdtempSync(join(tmpdir(), "clawrelay-admin-"));
let relay: LocalRelay;
let init: { files: { adminToken: string; signingKey: string }; signingKid: string; vars: { REGISTRY_JWKS: string } };
let token: string;
/** What every admin run gets: the relay and the token from the environment. */
let env: Record<string, string>;

beforeAll(async () => {
  cliBuilt();
  const port = await freePort();
  const made = await runCli(["--home", home, "relay", "init", "--origin", `http://127.0.0.1:${port}`, "--json"]);
  expect(made.code).toBe(0);
  init = JSON.parse(made.stdout);
  token = readFileSync(init.files.adminToken, "utf8");
  relay = await LocalRelay.start({
    home,
    port,
    extraVars: {
      ADMIN_TOKEN: token,
      RELAY_SIGNING_JWK: readFileSync(init.files.signingKey, "utf8"),
      REGISTRY_JWKS: init.vars.REGISTRY_JWKS,
    },
  });
  env = { CLAWRELAY_RELAY_URL: relay.url, CLAWRELAY_ADMIN_TOKEN: token };
});

afterAll(async () => {
  await relay?.stop();
  rmSync(home, { recursive: true, force: true });
});

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

describe("a relay running on what relay init made", () => {
  it("publishes the receipt key relay init generated (the Worker parsed RELAY_SIGNING_JWK) and is healthy", async () => {
    const health = await fetch(`${relay.url}/healthz`);
    expect(health.status).toBe(200);
    const jwks = (await (await fetch(`${relay.url}/.well-known/clawrelay/jwks.json`)).json()) as {
      keys: { kid: string; x: string }[];
    };
    const signing = JSON.parse(readFileSync(init.files.signingKey, "utf8")) as { x: string };
    expect(jwks.keys).toEqual([expect.objectContaining({ kid: init.signingKid, x: signing.x })]);
  });

  it("admin register makes an agent a known recipient; admin status reads the aggregate", async () => {
    const registered = await runCli(["admin", "register", "dora-admin"], env);
    expect(registered.code).toBe(0);
    expect(json(registered.stdout)).toMatchObject({ agentId: "dora-admin", known: true });

    // The token from a 0600 file instead of the environment.
    const file = join(home, "token-file");
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    const status = await runCli(["admin", "status", "--relay", relay.url, "--admin-token-file", file]);
    expect(status.code).toBe(0);
    expect(json(status.stdout)).toMatchObject({
      agents: expect.objectContaining({ known: expect.any(Number) }),
      revocations: expect.objectContaining({ state: expect.any(String) }),
    });
  });

  it("admin revoke: an agent's signed requests are refused 401 revoked; a single jti can be revoked too", async () => {
    const carol = loadIdentity(relay.agent("carol-admin"), "carol-admin");
    expect((await signedCall(relay.url, carol, "GET", "/v1/agents/carol-admin/status")).status).toBe(200);
    const revoked = await runCli(["admin", "revoke", "carol-admin", "--reason", "laptop lost", "--json"], env);
    expect(revoked.code).toBe(0);
    expect(json(revoked.stdout)).toMatchObject({
      agentId: "carol-admin",
      reason: "laptop lost",
      createdAt: expect.any(Number),
    });
    // PROTOCOL.md §2: a revocation takes effect within 60 s.
    await expect
      .poll(async () => (await signedCall(relay.url, carol, "GET", "/v1/agents/carol-admin/status")).code, {
        timeout: 65_000,
        interval: 500,
      })
      .toBe("revoked");

    const erin = loadIdentity(relay.agent("erin-admin"), "erin-admin");
    const { jti } = JSON.parse(Buffer.from(erin.token.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      jti: string;
    };
    const byJti = await runCli(["admin", "revoke", "--jti", jti], env);
    expect(byJti.code).toBe(0);
    expect(json(byJti.stdout)).toEqual({ jti, createdAt: expect.any(Number) });
  });

  it("refusals are one line with the relay's code and exit 1; bad arguments and token files exit 2", async () => {
    const wrong = await runCli(["admin", "status"], { ...env, CLAWRELAY_ADMIN_TOKEN: "not-the-admin-token-at-all" });
    expect(wrong.code).toBe(1);
    expectCleanFailure(wrong, [token]);
    expect(wrong.stderr).toContain("invalid_token");
    expect(json(wrong.stdout)).toMatchObject({ error: { code: "invalid_token" } });

    const dead = await runCli(["admin", "status"], {
      ...env,
      CLAWRELAY_RELAY_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(dead.code).toBe(1);
    expectCleanFailure(dead, [token]);

    const noToken = await runCli(["admin", "status", "--relay", relay.url]);
    expect(noToken.code).toBe(2);
    expectCleanFailure(noToken);
    const loose = join(home, "loose-token");
    writeFileSync(loose, token);
    chmodSync(loose, 0o644);
    const refused = await runCli(["admin", "status", "--relay", relay.url, "--admin-token-file", loose]);
    expect(refused.code).toBe(2);
    expectCleanFailure(refused, [token]);
    const badId = await runCli(["admin", "register", "Not An Id"], env);
    expect(badId.code).toBe(2);
    expectCleanFailure(badId);
    const both = await runCli(["admin", "revoke", "carol-admin", "--jti", "x"], env);
    expect(both.code).toBe(2);
    expectCleanFailure(both);
  });

  it.runIf(hasScript())("on a terminal: readable lines, not JSON; --json still gives JSON", async () => {
    const human = await runInPty(["admin", "status"], env);
    expect(human.code).toBe(0);
    expect(() => JSON.parse(human.stdout)).toThrow();
    expect(human.stdout.split("\n")[0]).toContain(relay.url);
    expect(human.stdout).not.toContain(token);
    const scripted = await runInPty(["admin", "register", "dora-admin", "--json"], env);
    expect(json(scripted.stdout)).toMatchObject({ agentId: "dora-admin" });
  });
  // Listed as skipped, with its reason, only where there is no pseudo-terminal.
  if (!hasScript()) it.skip("on a terminal: SKIPPED, util-linux script (a pseudo-terminal) is not installed", () => {});
});
