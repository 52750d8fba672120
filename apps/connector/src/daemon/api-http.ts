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

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/**
 * A browser page can reach a loopback port through DNS rebinding; refusing unknown Host
 * headers stops that. Binding a wildcard address means the operator chose to expose it.
 */
export function isAllowedHost(hostHeader: string | undefined, listenHost: string): boolean {
  if (listenHost === "0.0.0.0" || listenHost === "::") return true;
  if (!hostHeader) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${hostHeader}`).hostname;
  } catch {
    return false;
  }
  return LOOPBACK_NAMES.has(hostname) || hostname === listenHost || `[${listenHost}]` === hostname;
}
