import { resolve } from "node:path";
import { CONNECTOR_DEFAULTS, errorBodySchema } from "@clawrelay/protocol";
import { readApiToken } from "./api-token.js";
import { ConfigError, type ConnectorConfig, loadConnectorConfig } from "./config.js";

export interface LocalTarget {
  host: string;
  port: number;
  /** The API token (PROTOCOL.md §8), sent as `Authorization: Bearer`; undefined when none was found. */
  token?: string;
}

export interface LocalTargetOptions {
  host?: string;
  port?: string;
  /** The connector's config file: its listen address and its token (`apiToken`, or `<dataDir>/api-token`). */
  config?: string;
  /** The connector's data dir, for `<dataDir>/api-token`. */
  dataDir?: string;
  /** An agent id or directory; the CLI turns it into `config` before the action (target-options.ts). */
  agent?: string;
}

/** Says how to give the CLI the token, when the connector answered 401. */
export const TOKEN_HINT =
  "the connector wants its API token: pass --agent <id>, --config <connector.json> or --data-dir <dir>, or set CLAWRELAY_AGENT or CLAWRELAY_API_TOKEN";

export interface LocalAnswer {
  status: number;
  body: unknown;
}

export class ConnectorUnreachableError extends Error {
  constructor(target: LocalTarget) {
    super(
      `no connector answering at http://${target.host}:${target.port} (is it running? see "clawrelay connector start")`,
    );
    this.name = "ConnectorUnreachableError";
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) throw new Error(`invalid port: ${text}`);
  return port;
}

/**
 * Where the CLI finds the local connector and its token. With `--config`: that connector's listen
 * address and token (the config file with its CLAWRELAY_* overrides, as the daemon reads it).
 * Otherwise the address from flags, then CLAWRELAY_LISTEN_HOST/PORT, then the defaults, and the
 * token from `--data-dir`, then CLAWRELAY_API_TOKEN, then CLAWRELAY_DATA_DIR.
 */
export async function localTarget(
  options: LocalTargetOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalTarget> {
  if (options.config !== undefined) {
    const config = await readConfig(options.config, env);
    const token = config.apiToken ?? readApiToken(config.dataDir);
    return {
      host: options.host ?? config.listen.host,
      port: options.port !== undefined ? parsePort(options.port) : config.listen.port,
      ...(token !== undefined ? { token } : {}),
    };
  }
  const host = options.host ?? env.CLAWRELAY_LISTEN_HOST ?? CONNECTOR_DEFAULTS.listenHost;
  const port = parsePort(options.port ?? env.CLAWRELAY_LISTEN_PORT ?? String(CONNECTOR_DEFAULTS.listenPort));
  const token = localToken(options, env);
  return { host, port, ...(token !== undefined ? { token } : {}) };
}

/** The config as the daemon reads it; what is wrong with it on one line (a person reads it, not a stack). */
async function readConfig(file: string, env: NodeJS.ProcessEnv): Promise<ConnectorConfig> {
  try {
    return await loadConnectorConfig(file, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const path = resolve(file);
    const problems = error.problems.map((problem) =>
      problem.startsWith(`${path}: `) ? problem.slice(path.length + 2) : problem,
    );
    throw new Error(`invalid connector config ${path}: ${problems.join("; ")}`);
  }
}

/** The token without a config file: `--data-dir`, then CLAWRELAY_API_TOKEN, then CLAWRELAY_DATA_DIR. */
export function localToken(options: { dataDir?: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (options.dataDir !== undefined) return readApiToken(resolve(options.dataDir));
  if (env.CLAWRELAY_API_TOKEN) return env.CLAWRELAY_API_TOKEN;
  return env.CLAWRELAY_DATA_DIR ? readApiToken(resolve(env.CLAWRELAY_DATA_DIR)) : undefined;
}

/** A connector's base URL as a client reaches it: a wildcard bind is reached on loopback. */
export function localBaseUrl(target: LocalTarget): string {
  const host = target.host === "0.0.0.0" ? "127.0.0.1" : target.host === "::" ? "::1" : target.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${target.port}`;
}

/** One call to the connector's loopback API, with a timeout. */
export async function callLocalApi(
  target: LocalTarget,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<LocalAnswer> {
  const headers: Record<string, string> = {};
  if (target.token !== undefined) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`${localBaseUrl(target)}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new ConnectorUnreachableError(target);
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

/** A failed answer on one line: the error body's message and code (PROTOCOL.md §3), or the status. */
export function failureLine(answer: LocalAnswer): string {
  if (answer.status === 401) return TOKEN_HINT;
  const parsed = errorBodySchema.safeParse(answer.body);
  if (!parsed.success) return `the connector answered ${answer.status}`;
  const { code, message } = parsed.data.error;
  return `${message} (${code})`;
}
