import type { IncomingMessage, ServerResponse } from "node:http";
import { CORRELATION_ID_PATTERN, ERROR_STATUS, type ErrorCode, HEADERS, RelayError } from "@clawrelay/protocol";
import { ulid } from "ulid";

export function requestCorrelationId(request: IncomingMessage): string {
  const sent = request.headers[HEADERS.correlationId];
  return typeof sent === "string" && CORRELATION_ID_PATTERN.test(sent) ? sent : ulid();
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  response.end(text);
}

/** `{"error":{"code","message","correlationId","retryAfterSeconds"?}}`, the shape of PROTOCOL.md §4. */
export function sendError(
  response: ServerResponse,
  correlationId: string,
  code: ErrorCode,
  message: string,
  options: { retryAfterSeconds?: number; headers?: Record<string, string> } = {},
): void {
  const headers: Record<string, string> = { ...options.headers };
  if (options.retryAfterSeconds !== undefined) headers["retry-after"] = String(options.retryAfterSeconds);
  sendJson(
    response,
    ERROR_STATUS[code],
    {
      error: {
        code,
        message,
        correlationId,
        ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {}),
      },
    },
    headers,
  );
}

/**
 * The request body as text, refused past `maxBytes` counted on the bytes streamed
 * (whatever Content-Length claims), and refused unless it is JSON.
 */
export async function readJsonBody(request: IncomingMessage, maxBytes: number, optional = false): Promise<unknown> {
  const declared = Number(request.headers["content-length"] ?? "0");
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new RelayError("payload_too_large", `body exceeds ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > maxBytes) throw new RelayError("payload_too_large", `body exceeds ${maxBytes} bytes`);
    chunks.push(buffer);
  }
  if (size === 0 && optional) return undefined;
  const type = request.headers["content-type"] ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new RelayError("unsupported_media_type", "Content-Type must be application/json");
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new RelayError("invalid_json", "body is not valid JSON");
  }
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/** `host:port` as a Host header names it (IPv6 in brackets), lower case. */
function hostPort(host: string, port: number): string {
  const name = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `${name}:${port}`.toLowerCase();
}

/** The Host headers that name the listen address: itself, and `localhost` for a loopback address. */
function allowedHosts(listenHost: string, port: number): Set<string> {
  const names = [listenHost];
  if (listenHost === "127.0.0.1" || listenHost === "::1") names.push("localhost");
  if (listenHost === "localhost") names.push("127.0.0.1", "::1");
  const allowed = new Set(names.map((name) => hostPort(name, port)));
  // Port 80 is the one a Host header may leave out.
  if (port === 80) for (const name of names) allowed.add(hostPort(name, port).replace(/:80$/, ""));
  return allowed;
}

/**
 * Why a request must be refused with 403 forbidden_origin before anything else is read, or null
 * (PROTOCOL.md §8): browsers never reach the API. A page sends `Origin` on every cross-origin
 * fetch and every POST, and `Sec-Fetch-Site` on everything; `same-site` is refused too, since on
 * loopback it means a page served from another local port. A foreign `Host` is DNS rebinding. On a
 * wildcard bind (the operator chose to expose the port) any host name is taken, on the right port.
 */
export function originRefusal(request: IncomingMessage, listenHost: string, port: number): string | null {
  if (request.headers.origin !== undefined) return "requests carrying an Origin header are refused";
  const fetchSite = request.headers["sec-fetch-site"];
  if (fetchSite === "cross-site" || fetchSite === "same-site") return `Sec-Fetch-Site ${fetchSite} is refused`;
  const host = request.headers.host?.toLowerCase();
  if (!host) return "a Host header is required";
  if (WILDCARD_HOSTS.has(listenHost)) return host.endsWith(`:${port}`) ? null : "Host names another port";
  return allowedHosts(listenHost, port).has(host) ? null : "Host is not the listen address";
}
