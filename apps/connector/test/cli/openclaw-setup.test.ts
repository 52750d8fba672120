import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CliError } from "../../src/cli/errors.js";
import { registerOpenClawCommands } from "../../src/cli/openclaw-command.js";
import { findPluginDir, type OpenClawSetupOptions, openclawSetup } from "../../src/cli/openclaw-setup.js";
import { parseConnectorConfig } from "../../src/daemon/config.js";
import { tempDir } from "../daemon/helpers/common.js";

// `clawrelay openclaw setup` against real files in a temp dir: the connector's config and an
// OpenClaw gateway's JSON config, fresh and merged into.
const PLUGIN_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../openclaw-plugin");
const GATEWAY = "http://127.0.0.1:18789";
const TOKEN = "given-hooks-token-0123456789abcdef";

let dir: ReturnType<typeof tempDir>;
let connectorPath: string;
let openclawPath: string;

beforeEach(() => {
  dir = tempDir("clawrelay-openclaw-setup-");
  connectorPath = join(dir.path, "connector.json");
  openclawPath = join(dir.path, "openclaw", "openclaw.json");
  // What `clawrelay connector init` writes.
  writeJson(connectorPath, {
    agentId: "alice-agent",
    identityDir: dir.path,
    relayUrls: ["https://relay.example.com"],
    dataDir: join(dir.path, "connector-data"),
    listen: { host: "127.0.0.1", port: 19_455 },
    hookUrl: "http://127.0.0.1:8080/hook",
  });
});
afterEach(() => dir.remove());

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const mode = (path: string) => statSync(path).mode & 0o777;
const setup = (extra: Partial<OpenClawSetupOptions> = {}) =>
  openclawSetup({ config: connectorPath, gateway: GATEWAY, openclawConfig: openclawPath, ...extra });

/** The CliError a run ends in, and that it wrote nothing (both files as they were). */
async function refused(run: () => Promise<unknown>): Promise<CliError> {
  const before = [connectorPath, openclawPath].map((p) => (existsSync(p) ? readFileSync(p, "utf8") : null));
  const error = await run().then(
    () => {
      throw new Error("setup succeeded");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CliError);
  const after = [connectorPath, openclawPath].map((p) => (existsSync(p) ? readFileSync(p, "utf8") : null));
  expect(after).toEqual(before);
  return error as CliError;
}

describe("clawrelay openclaw setup", () => {
  it("fresh: writes the gateway's hooks and plugin entry and the connector's openclaw format, with one new token", async () => {
    const result = await setup();
    expect(result.hooksToken).toBe("generated");
    const openclaw = readJson(openclawPath);
    const token = openclaw.hooks.token as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    expect(openclaw).toEqual({
      hooks: {
        enabled: true,
        token,
        path: "/hooks",
        allowRequestSessionKey: true,
        allowedSessionKeyPrefixes: ["hook:"],
      },
      plugins: {
        load: { paths: [PLUGIN_DIR] },
        entries: {
          clawrelay: {
            enabled: true,
            config: {
              connectorUrl: "http://127.0.0.1:19455",
              apiTokenFile: join(dir.path, "connector-data", "api-token"),
            },
          },
        },
      },
    });
    // No allowlist made: one would switch off every plugin not on it.
    expect(openclaw.plugins.allow).toBeUndefined();
    expect(mode(openclawPath)).toBe(0o600);

    const connector = readJson(connectorPath);
    expect(connector).toMatchObject({ hookFormat: "openclaw", openclaw: { url: GATEWAY, token } });
    expect(mode(connectorPath)).toBe(0o600);
    expect(parseConnectorConfig(connector, { env: {} })).toMatchObject({ hookFormat: "openclaw" });
    expect(result.connector.written && result.openclaw.written && result.openclaw.created).toBe(true);
    expect(JSON.stringify(result)).not.toContain(token);
  });

  it("finds the plugin beside the CLI, from src/cli and from the bundle in dist/", () => {
    const cliDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/cli");
    expect(findPluginDir(cliDir)).toBe(PLUGIN_DIR);
    expect(findPluginDir(resolve(cliDir, "../../dist"))).toBe(PLUGIN_DIR);
  });

  it("--dry-run reports the changes and writes nothing", async () => {
    const before = readFileSync(connectorPath, "utf8");
    const result = await setup({ dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.openclaw.changes.length).toBeGreaterThan(0);
    expect(result.connector.changes).toContain('hookFormat = "openclaw"');
    expect(existsSync(openclawPath)).toBe(false);
    expect(readFileSync(connectorPath, "utf8")).toBe(before);
  });

  it("merges into an existing gateway config: keeps its keys and its hooks token, adds to its lists", async () => {
    writeJson(openclawPath, {
      gateway: { mode: "local", port: 18_789, auth: { mode: "token", token: "gateway-auth-token-0123456789" } },
      hooks: {
        enabled: true,
        token: TOKEN,
        mappings: [{ match: { path: "gmail" } }],
        allowedSessionKeyPrefixes: ["hook:gmail:"],
      },
      plugins: { allow: ["browser"], load: { paths: ["/opt/other-plugin"] }, entries: { browser: { enabled: true } } },
    });
    const result = await setup();
    expect(result.hooksToken).toBe("kept");
    const openclaw = readJson(openclawPath);
    expect(openclaw.gateway).toEqual({
      mode: "local",
      port: 18_789,
      auth: { mode: "token", token: "gateway-auth-token-0123456789" },
    });
    expect(openclaw.hooks).toMatchObject({
      token: TOKEN,
      mappings: [{ match: { path: "gmail" } }],
      allowedSessionKeyPrefixes: ["hook:gmail:", "hook:"],
      allowRequestSessionKey: true,
    });
    expect(openclaw.plugins.allow).toEqual(["browser", "clawrelay"]);
    expect(openclaw.plugins.load.paths).toEqual(["/opt/other-plugin", PLUGIN_DIR]);
    expect(openclaw.plugins.entries.browser).toEqual({ enabled: true });
    expect(readJson(connectorPath).openclaw.token).toBe(TOKEN);
  });

  it("a rerun changes nothing and writes nothing", async () => {
    await setup({ agentId: "main" });
    const first = [readFileSync(connectorPath, "utf8"), readFileSync(openclawPath, "utf8")];
    const again = await setup({ agentId: "main" });
    expect(again.hooksToken).toBe("kept");
    expect([again.connector.changes, again.openclaw.changes]).toEqual([[], []]);
    expect([again.connector.written, again.openclaw.written]).toEqual([false, false]);
    expect([readFileSync(connectorPath, "utf8"), readFileSync(openclawPath, "utf8")]).toEqual(first);
  });

  it.each([
    [
      "a different hooks token",
      { hooks: { enabled: true, token: "someone-elses-token-0123456789" } },
      { hooksToken: TOKEN },
    ],
    ["hooks switched off", { hooks: { enabled: false } }, {}],
    ["session keys from requests refused", { hooks: { allowRequestSessionKey: false } }, {}],
    [
      "a clawrelay plugin entry pointing elsewhere",
      { plugins: { entries: { clawrelay: { enabled: true, config: { connectorUrl: "http://127.0.0.1:1" } } } } },
      {},
    ],
    ["a disabled clawrelay plugin entry", { plugins: { entries: { clawrelay: { enabled: false } } } }, {}],
    ["clawrelay on the deny list", { plugins: { deny: ["clawrelay"] } }, {}],
  ])(
    "refuses %s in the gateway's config without --force, writing nothing; --force replaces it",
    async (_what, existing, extra) => {
      writeJson(openclawPath, existing);
      const error = await refused(() => setup(extra));
      expect(error.message).not.toContain(TOKEN);
      expect(error.message).not.toContain("someone-elses-token");
      await setup({ ...extra, force: true });
      const openclaw = readJson(openclawPath);
      expect(openclaw.hooks).toMatchObject({ enabled: true, allowRequestSessionKey: true });
      expect(openclaw.plugins.entries.clawrelay).toEqual({
        enabled: true,
        config: { connectorUrl: "http://127.0.0.1:19455", apiTokenFile: join(dir.path, "connector-data", "api-token") },
      });
      expect(openclaw.plugins.deny ?? []).not.toContain("clawrelay");
      if ("hooksToken" in extra) expect(openclaw.hooks.token).toBe(TOKEN);
    },
  );

  it("refuses a connector already pointed at another gateway without --force; --force replaces it", async () => {
    const connector = readJson(connectorPath);
    writeJson(connectorPath, {
      ...connector,
      hookFormat: "openclaw",
      openclaw: { url: "http://10.0.0.9:18789", token: TOKEN },
    });
    await refused(() => setup());
    await setup({ force: true });
    expect(readJson(connectorPath).openclaw).toEqual({ url: GATEWAY, token: TOKEN });
    // The gateway got the connector's token: the two sides agree without a new secret.
    expect(readJson(openclawPath).hooks.token).toBe(TOKEN);
  });

  it("refuses a gateway config that is not plain JSON (JSON5), leaving it as it was", async () => {
    const json5 = "// my gateway\n{ gateway: { mode: 'local' }, }\n";
    mkdirSync(dirname(openclawPath), { recursive: true });
    writeFileSync(openclawPath, json5);
    await refused(() => setup());
    expect(readFileSync(openclawPath, "utf8")).toBe(json5);
  });

  it("follows the gateway's own hooks.path, and a token the connector's config names", async () => {
    writeJson(connectorPath, { ...readJson(connectorPath), apiToken: "connector-api-token-0123456789" });
    writeJson(openclawPath, { hooks: { path: "/webhooks/" } });
    await setup();
    expect(readJson(connectorPath).openclaw.hooksPath).toBe("/webhooks");
    expect(readJson(openclawPath).hooks.path).toBe("/webhooks/");
    expect(readJson(openclawPath).plugins.entries.clawrelay.config).toEqual({
      connectorUrl: "http://127.0.0.1:19455",
      apiToken: "connector-api-token-0123456789",
    });
  });

  it("refuses a connector config that is not there, and a gateway URL that is not http", async () => {
    dir.remove();
    await refused(() => setup());
    expect((await refused(() => setup({ gateway: "ftp://gateway" }))).message).toContain("--gateway");
  });
});

describe("the command", () => {
  let stdout: string[] = [];
  // Text for a person needs a terminal; through a pipe the command prints JSON (request-setup-output.test.ts).
  const wasTTY = process.stdout.isTTY;
  beforeEach(() => {
    stdout = [];
    process.stdout.isTTY = true;
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.stdout.isTTY = wasTTY;
  });

  it("takes its options and prints the changes and the next steps for a person, never the token", async () => {
    const program = new Command().exitOverride();
    registerOpenClawCommands(program);
    const args = [
      "openclaw",
      "setup",
      "--config",
      connectorPath,
      "--gateway",
      GATEWAY,
      "--openclaw-config",
      openclawPath,
    ];
    await program.parseAsync(["node", "clawrelay", ...args, "--hooks-token", TOKEN, "--agent-id", "main"]);
    const text = stdout.join("");
    expect(text).toContain("Next steps:");
    expect(text).toContain(`clawrelay connector start --config ${connectorPath}`);
    expect(text).toContain("openclaw plugins inspect clawrelay");
    expect(text).not.toContain(TOKEN);
    expect(readJson(connectorPath).openclaw).toEqual({ url: GATEWAY, token: TOKEN, agentId: "main" });
  });
});
