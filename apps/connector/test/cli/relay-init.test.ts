import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parsePrivateJwk, parseRegistryJwks } from "@clawrelay/signing";
import { beforeAll, describe, expect, it } from "vitest";
import { tomlString } from "../../src/cli/relay-init.js";
import { CLI_TEST_TIMEOUT_MS, cliBuilt, expectCleanFailure, runCli, scratchDirs } from "./helpers/run-cli.js";

const scratch = scratchDirs();
beforeAll(cliBuilt);

const mode = (path: string) => statSync(path).mode & 0o777;

interface InitAnswer {
  dir: string;
  origin: string | null;
  files: { adminToken: string; signingKey: string; vars: string };
  kept: { adminToken: boolean; signingKey: boolean };
  signingKid: string;
  registries: { iss: string; dir: string; created: boolean }[];
  vars: { RELAY_ORIGIN?: string; REGISTRY_JWKS: string };
  commands: string[];
  warnings: string[];
  secrets?: { ADMIN_TOKEN: string; RELAY_SIGNING_JWK: string };
}

/** `KEY = value` lines of a [vars] table, values read as TOML reads a literal or a basic string. */
function readVars(toml: string): Record<string, string> {
  const vars: Record<string, string> = {};
  const lines = toml.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  expect(lines[0]).toBe("[vars]");
  for (const line of lines.slice(1)) {
    const match = /^([A-Z_]+) = ('([^']*)'|"(?:[^"\\]|\\.)*")$/.exec(line);
    if (!match?.[1] || !match[2]) throw new Error(`not a TOML string assignment: ${line}`);
    vars[match[1]] = match[3] ?? (JSON.parse(match[2]) as string);
  }
  return vars;
}

const python = spawnSync("python3", ["-c", "import tomllib"], { stdio: "ignore" }).status === 0;

describe("clawrelay relay init (the built CLI)", () => {
  it(
    "writes the secrets 0600 in <home>/relay, prints none of them, and the values parse as the relay parses them",
    async () => {
      const home = scratch();
      const run = await runCli(["--home", home, "relay", "init", "--origin", "https://relay.example.com/", "--json"]);
      expect(run.code).toBe(0);
      const answer = JSON.parse(run.stdout) as InitAnswer;
      expect(answer.dir).toBe(join(home, "relay"));
      expect(answer.origin).toBe("https://relay.example.com");
      expect(answer.secrets).toBeUndefined();
      expect(mode(answer.dir)).toBe(0o700);
      expect(mode(answer.files.adminToken)).toBe(0o600);
      expect(mode(answer.files.signingKey)).toBe(0o600);

      const token = readFileSync(answer.files.adminToken, "utf8");
      // 32 random bytes, base64url, no newline (wrangler secret put stores stdin as it comes).
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const signing = readFileSync(answer.files.signingKey, "utf8");
      const jwk = parsePrivateJwk(JSON.parse(signing));
      expect(jwk.kid).toBe(answer.signingKid);
      for (const secret of [token, jwk.d]) {
        expect(run.stdout).not.toContain(secret);
        expect(run.stderr).not.toContain(secret);
      }

      // REGISTRY_JWKS: the new default registry's public key, accepted by the relay's parser.
      expect(answer.registries).toEqual([{ iss: "local-registry", dir: join(home, "registry"), created: true }]);
      const registryJwks = parseRegistryJwks(answer.vars.REGISTRY_JWKS);
      expect(registryJwks).toEqual({
        "local-registry": JSON.parse(readFileSync(join(home, "registry/registry.public.jwks.json"), "utf8")),
      });
      const toml = readFileSync(answer.files.vars, "utf8");
      expect(readVars(toml)).toEqual({
        RELAY_ORIGIN: "https://relay.example.com",
        REGISTRY_JWKS: answer.vars.REGISTRY_JWKS,
      });
      expect(answer.commands).toContain(`npx wrangler secret put ADMIN_TOKEN < ${answer.files.adminToken}`);
      expect(answer.commands).toContain(`npx wrangler secret put RELAY_SIGNING_JWK < ${answer.files.signingKey}`);
      expect(answer.warnings).toEqual([]);

      // Again, with another origin: the secrets are kept, the vars follow.
      const again = JSON.parse(
        (await runCli(["--home", home, "relay", "init", "--origin", "http://127.0.0.1:8788", "--json"])).stdout,
      ) as InitAnswer;
      expect(again.kept).toEqual({ adminToken: true, signingKey: true });
      expect(readFileSync(answer.files.adminToken, "utf8")).toBe(token);
      expect(again.registries[0]?.created).toBe(false);
      expect(again.warnings).toHaveLength(1);
      expect(readVars(readFileSync(answer.files.vars, "utf8")).RELAY_ORIGIN).toBe("http://127.0.0.1:8788");

      const shown = await runCli(["--home", home, "relay", "init", "--force", "--show-secrets", "--json"]);
      const replaced = JSON.parse(shown.stdout) as InitAnswer;
      expect(replaced.kept).toEqual({ adminToken: false, signingKey: false });
      expect(replaced.origin).toBe("http://127.0.0.1:8788");
      expect(replaced.secrets?.ADMIN_TOKEN).toBe(readFileSync(answer.files.adminToken, "utf8"));
      expect(replaced.secrets?.ADMIN_TOKEN).not.toBe(token);
      expect(replaced.secrets?.RELAY_SIGNING_JWK).toBe(readFileSync(answer.files.signingKey, "utf8"));
    },
    CLI_TEST_TIMEOUT_MS,
  );

  it(
    "trusts the registries named with --registry; bad input is one line",
    async () => {
      const home = scratch();
      const other = scratch();
      expect((await runCli(["--home", other, "registry", "init", "--iss", "team-registry", "--json"])).code).toBe(0);
      const out = join(home, "relay-files");
      const run = await runCli([
        "--home",
        home,
        "relay",
        "init",
        "--registry",
        join(other, "registry"),
        "--out",
        out,
        "--json",
      ]);
      expect(run.code).toBe(0);
      const answer = JSON.parse(run.stdout) as InitAnswer;
      expect(answer.dir).toBe(out);
      expect(Object.keys(parseRegistryJwks(answer.vars.REGISTRY_JWKS))).toEqual(["team-registry"]);
      // No origin yet (before the first deploy): RELAY_ORIGIN stays out of the vars.
      expect(answer.vars.RELAY_ORIGIN).toBeUndefined();
      expect(Object.keys(readVars(readFileSync(answer.files.vars, "utf8")))).toEqual(["REGISTRY_JWKS"]);

      const missing = await runCli(["--home", home, "relay", "init", "--registry", join(home, "nowhere")]);
      expect(missing.code).toBe(2);
      expectCleanFailure(missing);
      const badOrigin = await runCli(["--home", home, "relay", "init", "--origin", "https://relay.example.com/v1"]);
      expect(badOrigin.code).toBe(2);
      expectCleanFailure(badOrigin);
      // A token file others could read is not a secret any more: refused, not silently used.
      chmodSync(answer.files.adminToken, 0o644);
      const loose = await runCli(["--home", home, "relay", "init", "--out", out]);
      expect(loose.code).toBe(2);
      expectCleanFailure(loose, [readFileSync(answer.files.adminToken, "utf8")]);
    },
    CLI_TEST_TIMEOUT_MS,
  );
});

describe("tomlString", () => {
  const values = ['{"a":"b"}', "it's", "both ' and \"", "tab\there"];
  it("reads back as the value, by the rules of TOML strings", () => {
    for (const value of values) expect(readVars(`[vars]\nX = ${tomlString(value)}\n`).X).toBe(value);
  });
  it.runIf(python)("and by a real TOML parser (Python's tomllib)", () => {
    const dir = scratch();
    const file = join(dir, "vars.toml");
    writeFileSync(file, `[vars]\n${values.map((value, i) => `V${i} = ${tomlString(value)}`).join("\n")}\n`);
    const parsed = spawnSync(
      "python3",
      ["-c", "import json,sys,tomllib; print(json.dumps(tomllib.load(open(sys.argv[1],'rb'))['vars']))", file],
      { encoding: "utf8" },
    );
    expect(parsed.status).toBe(0);
    expect(Object.values(JSON.parse(parsed.stdout))).toEqual(values);
  });
  // Listed as skipped, with its reason, only where the tool is missing.
  if (!python) it.skip("and by a real TOML parser: SKIPPED, python3 with tomllib is not installed here", () => {});
});
