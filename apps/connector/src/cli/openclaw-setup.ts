import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { API_TOKEN_FILE_NAME } from "../daemon/api-token.js";
import { ConfigError, OPENCLAW_DEFAULTS, parseConnectorConfig } from "../daemon/config.js";
import { CliError } from "./errors.js";
import { ConfigMerge, type JsonObject, parsePlainJsonObject } from "./openclaw-merge.js";

/** The plugin's id in its manifest, and so its key in `plugins.entries` and `plugins.allow`. */
export const PLUGIN_ID = "clawrelay";
/** The session keys the connector sends all start like this; the gateway must admit them. */
const SESSION_KEY_FAMILY = "hook:";
/** OpenClaw's own default config file. */
const DEFAULT_OPENCLAW_CONFIG = join(homedir(), ".openclaw", "openclaw.json");
const HOOKS_TOKEN_PATTERN = /^[\x21-\x7e]{16,4096}$/;
const JSON5_HINT =
  "clawrelay will not rewrite it: convert it to plain JSON first, or make the changes by hand (apps/openclaw-plugin/README.md)";

export interface OpenClawSetupOptions {
  /** The connector's config file. */
  config: string;
  /** The gateway's base URL, e.g. http://127.0.0.1:18789. */
  gateway: string;
  openclawConfig: string;
  hooksToken?: string;
  agentId?: string;
  /** Default: apps/openclaw-plugin beside the CLI. */
  pluginDir?: string;
  dryRun?: boolean;
  force?: boolean;
}

export interface FileOutcome {
  path: string;
  changes: string[];
  written: boolean;
  created: boolean;
}

export interface OpenClawSetupResult {
  dryRun: boolean;
  connector: FileOutcome;
  openclaw: FileOutcome;
  hooksToken: "given" | "kept" | "generated";
  notes: string[];
  nextSteps: string[];
}

/** apps/openclaw-plugin, found from this module's place: src/cli/ in the workspace, dist/ when bundled. */
export function findPluginDir(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, "openclaw-plugin");
    if (existsSync(join(candidate, "openclaw.plugin.json"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

function pluginDirOf(given: string | undefined): string {
  const dir = given !== undefined ? resolve(given) : findPluginDir();
  if (dir === undefined)
    throw new CliError("cannot find the clawrelay OpenClaw plugin beside the CLI; pass --plugin-dir");
  let id: unknown;
  try {
    id = (JSON.parse(readFileSync(join(dir, "openclaw.plugin.json"), "utf8")) as { id?: unknown }).id;
  } catch {
    throw new CliError(`${dir} holds no readable openclaw.plugin.json`);
  }
  if (id !== PLUGIN_ID) throw new CliError(`${dir} is not the clawrelay plugin (its id is ${JSON.stringify(id)})`);
  return dir;
}

function gatewayUrlOf(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`--gateway must be the gateway's http(s) base URL, e.g. http://127.0.0.1:18789 (got ${text})`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash || url.username) {
    throw new CliError(`--gateway must be a plain http(s) base URL, e.g. http://127.0.0.1:18789 (got ${text})`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/** OpenClaw's reading of `hooks.path`: a leading slash added, trailing ones removed. */
function hooksPathOf(value: unknown): string {
  if (value === undefined) return OPENCLAW_DEFAULTS.hooksPath;
  const path = typeof value === "string" ? `/${value.trim().replace(/^\/+|\/+$/g, "")}` : "/";
  if (path === "/") throw new CliError(`the OpenClaw config's hooks.path ${JSON.stringify(value)} is not usable`);
  return path;
}

async function readIfThere(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
  }
}

/** Through a temp file and a rename, so an interrupted write never leaves half a config. */
async function writeAtomically(path: string, value: JsonObject, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode, flag: "w" });
  await chmod(temp, mode);
  await rename(temp, path);
}

function connectorUrlOf(listen: { host: string; port: number }): string {
  if (listen.port === 0) {
    throw new CliError("the connector's listen.port is 0 (a new port each start); give it a fixed port first");
  }
  const host = listen.host === "0.0.0.0" ? "127.0.0.1" : listen.host === "::" ? "::1" : listen.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${listen.port}`;
}

/** Write (or with dryRun only work out) the connector's and the gateway's side of the setup. */
export async function openclawSetup(
  options: OpenClawSetupOptions,
  randomToken: () => string = () => randomBytes(32).toString("base64url"),
): Promise<OpenClawSetupResult> {
  const force = options.force ?? false;
  const gatewayUrl = gatewayUrlOf(options.gateway);
  if (options.hooksToken !== undefined && !HOOKS_TOKEN_PATTERN.test(options.hooksToken)) {
    throw new CliError("--hooks-token must be at least 16 printable characters without spaces");
  }
  const pluginDir = pluginDirOf(options.pluginDir);
  const connectorPath = resolve(options.config);
  const connectorText = await readIfThere(connectorPath);
  if (connectorText === undefined) {
    throw new CliError(`no connector config at ${connectorPath}; make one with "clawrelay connector init"`);
  }
  const connector = parsePlainJsonObject(connectorText, connectorPath, "fix it first");
  const openclawPath = resolve(options.openclawConfig);
  const openclawText = await readIfThere(openclawPath);
  const openclaw = openclawText === undefined ? {} : parsePlainJsonObject(openclawText, openclawPath, JSON5_HINT);

  const cm = new ConfigMerge(basename(connectorPath), force);
  const om = new ConfigMerge(basename(openclawPath), force);
  const notes: string[] = [];

  // The gateway's hooks, and the connector's way in through them. An existing hooks token is
  // kept (other senders may use it) unless --hooks-token names another.
  const hooks = om.object(openclaw, "hooks", "hooks");
  const section = cm.object(connector, "openclaw", "openclaw");
  const existingToken = [hooks.token, section.token].find((t): t is string => typeof t === "string");
  const token = options.hooksToken ?? existingToken ?? randomToken();
  const tokenSource = options.hooksToken !== undefined ? "given" : existingToken !== undefined ? "kept" : "generated";
  om.set(hooks, "enabled", true, "hooks.enabled");
  om.set(hooks, "token", token, "hooks.token", { secret: true });
  const hooksPath = hooksPathOf(hooks.path);
  if (hooks.path === undefined) om.set(hooks, "path", hooksPath, "hooks.path");
  om.set(hooks, "allowRequestSessionKey", true, "hooks.allowRequestSessionKey");
  om.add(hooks, "allowedSessionKeyPrefixes", SESSION_KEY_FAMILY, "hooks.allowedSessionKeyPrefixes", (entry) => {
    const prefix = typeof entry === "string" ? entry.trim().toLowerCase() : "";
    return prefix !== "" && SESSION_KEY_FAMILY.startsWith(prefix);
  });
  if (options.agentId !== undefined && Array.isArray(hooks.allowedAgentIds) && !hooks.allowedAgentIds.includes("*")) {
    om.add(hooks, "allowedAgentIds", options.agentId, "hooks.allowedAgentIds");
  }
  const gatewayAuth = (openclaw.gateway as { auth?: { token?: unknown } } | undefined)?.auth?.token;
  if (gatewayAuth === token)
    notes.push("the hooks token is the gateway's auth token too; OpenClaw advises distinct ones");

  cm.switch(connector, "hookFormat", "openclaw", "hookFormat");
  cm.set(section, "url", gatewayUrl, "openclaw.url");
  cm.set(section, "token", token, "openclaw.token", { secret: true });
  if (options.agentId !== undefined) cm.set(section, "agentId", options.agentId, "openclaw.agentId");
  if (hooksPath !== OPENCLAW_DEFAULTS.hooksPath || section.hooksPath !== undefined) {
    cm.set(section, "hooksPath", hooksPath, "openclaw.hooksPath");
  }
  let parsed: ReturnType<typeof parseConnectorConfig>;
  try {
    parsed = parseConnectorConfig(connector, { env: {}, baseDir: dirname(connectorPath), source: connectorPath });
  } catch (error) {
    if (error instanceof ConfigError)
      throw new CliError(`the connector config would not be valid: ${error.problems.join("; ")}`);
    throw error;
  }

  // The plugin: loaded from its folder, enabled, pointed at this connector and its token.
  const tokenFile = join(parsed.dataDir, API_TOKEN_FILE_NAME);
  const wanted: Record<string, string | undefined> = {
    connectorUrl: connectorUrlOf(parsed.listen),
    // A token named in the connector's config is never written to api-token: the plugin needs it itself.
    apiToken: parsed.apiToken,
    apiTokenFile: parsed.apiToken === undefined ? tokenFile : undefined,
  };
  const plugins = om.object(openclaw, "plugins", "plugins");
  if (plugins.enabled === false) om.set(plugins, "enabled", true, "plugins.enabled");
  om.remove(plugins, "deny", PLUGIN_ID, "plugins.deny");
  const load = om.object(plugins, "load", "plugins.load");
  om.add(load, "paths", pluginDir, "plugins.load.paths", (entry) => {
    return typeof entry === "string" && resolve(entry.replace(/^~(?=$|\/)/, homedir())) === pluginDir;
  });
  if (Array.isArray(plugins.allow)) om.add(plugins, "allow", PLUGIN_ID, "plugins.allow");
  else
    notes.push(
      'plugins.allow is not set and was left so (a list there is exclusive); if you add one, list "clawrelay"',
    );
  const entry = om.object(om.object(plugins, "entries", "plugins.entries"), PLUGIN_ID, `plugins.entries.${PLUGIN_ID}`);
  om.set(entry, "enabled", true, `plugins.entries.${PLUGIN_ID}.enabled`);
  const pluginConfig = om.object(entry, "config", `plugins.entries.${PLUGIN_ID}.config`);
  for (const [key, value] of Object.entries(wanted)) {
    const label = `plugins.entries.${PLUGIN_ID}.config.${key}`;
    if (value !== undefined) om.set(pluginConfig, key, value, label, { secret: key === "apiToken" });
    else om.unset(pluginConfig, key, label);
  }

  const conflicts = [...cm.conflicts, ...om.conflicts];
  if (conflicts.length > 0) {
    throw new CliError(`nothing was written: ${conflicts.join("; ")}; pass --force to replace them`);
  }
  const dryRun = options.dryRun ?? false;
  const openclawOutcome: FileOutcome = {
    path: openclawPath,
    changes: om.changes,
    written: false,
    created: openclawText === undefined,
  };
  const connectorOutcome: FileOutcome = { path: connectorPath, changes: cm.changes, written: false, created: false };
  if (!dryRun) {
    // The gateway's side first: a rerun after a failed second write keeps its token.
    if (om.changes.length > 0 || openclawOutcome.created) {
      const mode = openclawText === undefined ? 0o600 : (await stat(openclawPath)).mode & 0o777;
      await writeAtomically(openclawPath, openclaw, mode);
      openclawOutcome.written = true;
    }
    if (cm.changes.length > 0) {
      await writeAtomically(connectorPath, connector, 0o600);
      connectorOutcome.written = true;
    }
  }
  const nextSteps = [
    `(Re)start the connector: clawrelay connector start --config ${connectorPath} (or restart its service).` +
      (wanted.apiTokenFile
        ? ` It makes its API token in ${tokenFile} on first start; the gateway's user must be able to read that file.`
        : ""),
    `Restart the OpenClaw gateway so it loads the plugin and the hooks settings${
      openclawPath === DEFAULT_OPENCLAW_CONFIG ? "" : ` (with OPENCLAW_CONFIG_PATH=${openclawPath})`
    }.`,
    `Check the plugin: openclaw plugins inspect ${PLUGIN_ID} --runtime --json shows status "loaded" and the tools clawrelay_send and clawrelay_status.`,
    `Check the connector: clawrelay status --config ${connectorPath} shows hook.format "openclaw".`,
    "Then ask your agent to message another agent: it calls clawrelay_send; answers and failures come back as turns in the same session.",
  ];
  return { dryRun, connector: connectorOutcome, openclaw: openclawOutcome, hooksToken: tokenSource, notes, nextSteps };
}
