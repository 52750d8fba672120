// One call to the clawrelay connector's loopback API (PROTOCOL.md §8), with the API token, a
// timeout and errors a model can read: a tool that throws shows the model its message only.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { API_TOKEN_PATTERN, DEFAULT_CONNECTOR_URL, DEFAULT_TIMEOUT_MS } from "./limits.mjs";

/** A failure the model is told about: `message` is plain text, `code` is for tests and logs. */
export class ToolError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = "ClawrelayToolError";
    this.code = code;
  }
}

/**
 * @typedef {object} PluginConfig `plugins.entries.clawrelay.config`
 * @property {string} [connectorUrl]
 * @property {string} [apiToken]
 * @property {string} [apiTokenFile]
 * @property {number} [timeoutMs]
 */

/**
 * @typedef {object} Connector
 * @property {string} url the API's base URL, without a trailing slash
 * @property {string} [apiToken]
 * @property {string} [apiTokenFile]
 * @property {number} timeoutMs
 */

/**
 * @param {unknown} raw
 * @returns {Connector}
 */
export function connectorFromConfig(raw) {
  const config = /** @type {PluginConfig} */ (typeof raw === "object" && raw !== null ? raw : {});
  const text = config.connectorUrl ?? DEFAULT_CONNECTOR_URL;
  let url;
  try {
    url = new URL(text);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new ToolError("plugin_misconfigured", `the clawrelay plugin's connectorUrl is not an http URL: ${text}`);
  }
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new ToolError("plugin_misconfigured", "the clawrelay plugin's timeoutMs must be a positive integer");
  }
  return {
    url: `${url.origin}${url.pathname.replace(/\/+$/, "")}`,
    timeoutMs,
    ...(config.apiToken !== undefined ? { apiToken: config.apiToken } : {}),
    ...(config.apiTokenFile !== undefined ? { apiTokenFile: config.apiTokenFile } : {}),
  };
}

/**
 * The configured token, else the one in the token file (read at each call: the connector makes
 * it on its first start, which may come after the gateway's), else none.
 * @param {Connector} connector
 * @returns {Promise<string | undefined>}
 */
async function apiToken(connector) {
  if (connector.apiToken !== undefined) return connector.apiToken;
  if (connector.apiTokenFile === undefined) return undefined;
  const path = connector.apiTokenFile.replace(/^~(?=$|\/)/, homedir());
  let text;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = /** @type {NodeJS.ErrnoException} */ (error).code ?? "unreadable";
    const hint = code === "ENOENT" ? "; the connector makes it on its first start: is it running?" : "";
    throw new ToolError("api_token_unreadable", `cannot read the clawrelay API token file ${path} (${code})${hint}`);
  }
  const token = text.trim();
  if (!API_TOKEN_PATTERN.test(token)) {
    throw new ToolError("api_token_unreadable", `${path} does not hold a clawrelay API token`);
  }
  return token;
}

/**
 * @typedef {object} Answer
 * @property {number} status
 * @property {any} body the parsed JSON, or the text when it is not JSON
 */

/**
 * @param {Connector} connector
 * @param {{method: "GET" | "POST", path: string, body?: unknown, headers?: Record<string, string>,
 *   signal?: AbortSignal, unsentNote: string, timeoutNote?: string}} request `unsentNote` ends the
 *   message when the connector could not be reached, e.g. "nothing was sent"; `timeoutNote` when
 *   it took the request but gave no answer in time (it may have acted on it)
 * @returns {Promise<Answer>}
 */
export async function callConnector(connector, request) {
  const token = await apiToken(connector);
  const timeout = AbortSignal.timeout(connector.timeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json", ...request.headers };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (request.body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(`${connector.url}${request.path}`, {
      method: request.method,
      headers,
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      signal,
    });
  } catch (error) {
    if (request.signal?.aborted) throw new ToolError("cancelled", "the call was cancelled");
    const [why, note] = timeout.aborted
      ? [`no answer within ${connector.timeoutMs} ms`, request.timeoutNote ?? request.unsentNote]
      : [causeCode(error), request.unsentNote];
    throw new ToolError(
      "connector_unreachable",
      `clawrelay connector is not reachable at ${connector.url} (${why}); ${note}`,
    );
  }
  const text = await response.text();
  let body = text;
  try {
    body = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy or something else on the port): the status code still tells.
  }
  return { status: response.status, body };
}

/** @param {unknown} error */
function causeCode(error) {
  const cause = /** @type {{cause?: {code?: unknown}}} */ (error).cause;
  return typeof cause?.code === "string" ? cause.code : "connection failed";
}

/**
 * The ToolError for a connector answer that is not 2xx: the connector's own error code first.
 * @param {Answer} answer
 * @param {string} what e.g. "the message" (what was refused)
 * @param {string} unsentNote
 */
export function answerError(answer, what, unsentNote) {
  const error = answer.body?.error;
  const code = typeof error?.code === "string" ? error.code : `http_${answer.status}`;
  const detail = typeof error?.message === "string" ? `: ${error.message}` : "";
  if (answer.status === 401) {
    return new ToolError(
      code,
      `the connector refused the API token (${code}); set apiTokenFile (the connector's <dataDir>/api-token) ` +
        `or apiToken in plugins.entries.clawrelay.config; ${unsentNote}`,
    );
  }
  if (answer.status === 403) {
    return new ToolError(code, `the connector refused the API token or this request (${code}${detail}); ${unsentNote}`);
  }
  const retry = typeof error?.retryAfterSeconds === "number" ? `; try again in ${error.retryAfterSeconds} s` : "";
  return new ToolError(code, `clawrelay refused ${what} (${code}${detail}); ${unsentNote}${retry}`);
}
