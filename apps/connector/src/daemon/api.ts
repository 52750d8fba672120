import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HEADERS, type OutboundBody, outboundBodySchema, RelayError, SESSION_KEY_PATTERN } from "@clawrelay/protocol";
import { isHttpOrigin } from "@clawrelay/signing";
import type { Logger } from "pino";
import { z } from "zod";
import { originRefusal, readJsonBody, requestCorrelationId, sendError, sendJson } from "./api-http.js";
import { checkBearer } from "./api-token.js";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics-prometheus.js";
import type { OutboundEnqueueResult } from "./outbound.js";
import type { LocalTrace } from "./trace-wire.js";

/** What the loopback API needs from the daemon; plain functions so the HTTP layer stays thin. */
export interface ApiHandlers {
  enqueue(body: OutboundBody, context: { sessionKey?: string }): OutboundEnqueueResult;
  outbound(outboundId: string): unknown | undefined;
  status(): unknown;
  health(): { status: "ok" | "degraded"; [key: string]: unknown };
  deadLetters(limit: number): unknown[];
  replay(ids: readonly string[] | undefined): string[];
  /** Local hops for a correlation id, relay message id or outbound id; undefined when none. */
  trace(id: string): LocalTrace | undefined;
  /** The Prometheus text exposition of `GET /metrics` (metrics-prometheus.ts). */
  metrics(): string;
}

export interface ApiOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Every route but `GET /healthz` needs `Authorization: Bearer <apiToken>`. */
  apiToken: string;
  logger: Logger;
  handlers: ApiHandlers;
}

export interface ApiServer {
  port: number;
  close(): Promise<void>;
}

const replayBodySchema = z.strictObject({ ids: z.array(z.string().min(1).max(128)).min(1).max(1000).optional() });
const OUTBOUND_PATH = /^\/v1\/outbound\/([A-Za-z0-9._:-]{1,128})$/;
const TRACE_PATH = /^\/v1\/trace\/([A-Za-z0-9._:-]{1,128})$/;
const OUTBOX_FULL_RETRY_SECONDS = 5;

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/** `X-Claw-Session-Key`, optional: the local OpenClaw session sending the message. */
function sessionKeyOf(request: IncomingMessage): string | undefined {
  const value = request.headers[HEADERS.sessionKey];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !SESSION_KEY_PATTERN.test(value)) {
    throw new RelayError("invalid_request", "X-Claw-Session-Key must be 1-256 characters of A-Z a-z 0-9 : . _ -");
  }
  return value;
}

function allow(methods: string, request: IncomingMessage): void {
  if (!methods.split(", ").includes(request.method ?? "")) {
    throw Object.assign(new RelayError("method_not_allowed", `use ${methods}`), { allow: methods });
  }
}

async function route(request: IncomingMessage, response: ServerResponse, options: ApiOptions) {
  const { handlers } = options;
  const url = new URL(request.url ?? "/", "http://connector.invalid");
  const path = url.pathname;

  if (path === "/healthz") {
    allow("GET", request);
    return sendJson(response, 200, handlers.health());
  }
  if (path === "/metrics") {
    // Behind the API token like every route but /healthz: it names the agent and its traffic.
    allow("GET", request);
    const text = handlers.metrics();
    response.writeHead(200, {
      "content-type": PROMETHEUS_CONTENT_TYPE,
      "content-length": Buffer.byteLength(text),
      "cache-control": "no-store",
    });
    response.end(text);
    return;
  }
  if (path === "/v1/status") {
    allow("GET", request);
    return sendJson(response, 200, handlers.status());
  }
  if (path === "/v1/outbound") {
    allow("POST", request);
    const sessionKey = sessionKeyOf(request);
    const parsed = outboundBodySchema.safeParse(await readJsonBody(request, options.maxBodyBytes));
    if (!parsed.success) throw new RelayError("invalid_request", describeIssues(parsed.error));
    if (parsed.data.toRelay !== undefined && !isHttpOrigin(parsed.data.toRelay.replace(/\/+$/, ""))) {
      throw new RelayError("invalid_request", "toRelay: must be an http(s) origin, e.g. https://relay.example.com");
    }
    const result = handlers.enqueue(parsed.data, sessionKey !== undefined ? { sessionKey } : {});
    if (!result.ok && result.reason === "no_recipient") {
      throw new RelayError("invalid_request", "to: required unless inReplyTo names a message this connector received");
    }
    if (!result.ok && result.reason === "untrusted_relay") {
      throw new RelayError("invalid_request", "toRelay: not one of this connector's relayUrls or trustedRelays");
    }
    if (!result.ok) {
      throw new RelayError("queue_full", "the outbox is full", { retryAfterSeconds: OUTBOX_FULL_RETRY_SECONDS });
    }
    const { record, duplicate } = result;
    return sendJson(response, duplicate ? 200 : 202, {
      outboundId: record.outboundId,
      correlationId: record.correlationId,
      ...(record.conversationId !== null ? { conversationId: record.conversationId } : {}),
      state: record.state,
      ...(duplicate ? { duplicate: true } : {}),
    });
  }
  const outboundMatch = OUTBOUND_PATH.exec(path);
  if (outboundMatch) {
    allow("GET", request);
    const found = handlers.outbound(outboundMatch[1] as string);
    if (found === undefined) throw new RelayError("not_found", "no such outbound message");
    return sendJson(response, 200, found);
  }
  const traceMatch = TRACE_PATH.exec(path);
  if (traceMatch) {
    allow("GET", request);
    const found = handlers.trace(traceMatch[1] as string);
    if (found === undefined) throw new RelayError("not_found", "this connector has no record of that id");
    return sendJson(response, 200, found);
  }
  if (path === "/v1/dead-letters") {
    allow("GET", request);
    const limitText = url.searchParams.get("limit") ?? "100";
    const limit = /^\d{1,4}$/.test(limitText) ? Math.min(Math.max(Number(limitText), 1), 1000) : Number.NaN;
    if (Number.isNaN(limit)) throw new RelayError("invalid_request", "limit must be an integer from 1 to 1000");
    return sendJson(response, 200, { items: handlers.deadLetters(limit) });
  }
  if (path === "/v1/dead-letters/replay") {
    allow("POST", request);
    const raw = await readJsonBody(request, options.maxBodyBytes, true);
    const parsed = replayBodySchema.safeParse(raw ?? {});
    if (!parsed.success) throw new RelayError("invalid_request", describeIssues(parsed.error));
    const replayed = handlers.replay(parsed.data.ids);
    return sendJson(response, 200, { replayed: replayed.length, ids: replayed });
  }
  throw new RelayError("not_found", "no such route");
}

function isHealthCheck(target: string | undefined): boolean {
  try {
    return new URL(target ?? "/", "http://connector.invalid").pathname === "/healthz";
  } catch {
    return false;
  }
}

/**
 * The guard in front of every route (PROTOCOL.md §8), before the body or the path is read: a
 * browser's request or a foreign Host gets 403 forbidden_origin, then anything but /healthz
 * needs the API token (401 missing_credentials / invalid_token). A refused request's body is
 * never read, so its connection is closed.
 */
function admitted(
  request: IncomingMessage,
  response: ServerResponse,
  correlationId: string,
  options: ApiOptions,
  port: number,
): boolean {
  const refuse = (code: "forbidden_origin" | "missing_credentials" | "invalid_token", message: string) => {
    options.logger.warn({ event: "api_refused", correlationId, code }, "local API request refused");
    const headers: Record<string, string> = { connection: "close" };
    if (code !== "forbidden_origin") headers["www-authenticate"] = "Bearer";
    sendError(response, correlationId, code, message, { headers });
    return false;
  };
  const refusal = originRefusal(request, options.host, port);
  if (refusal !== null) return refuse("forbidden_origin", refusal);
  if (isHealthCheck(request.url)) return true;
  switch (checkBearer(request.headers.authorization, options.apiToken)) {
    case "ok":
      return true;
    case "missing":
      return refuse("missing_credentials", "send Authorization: Bearer <the token in <dataDir>/api-token>");
    case "invalid":
      return refuse("invalid_token", "the API token is not this connector's");
  }
}

/** The connector's loopback HTTP API (PROTOCOL.md §8). */
export async function startApi(options: ApiOptions): Promise<ApiServer> {
  let boundPort = options.port;
  const server: Server = createServer((request, response) => {
    const correlationId = requestCorrelationId(request);
    if (!admitted(request, response, correlationId, options, boundPort)) return;
    route(request, response, options).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof RelayError) {
        const allowHeader = (error as RelayError & { allow?: string }).allow;
        const tooLarge = error.code === "payload_too_large";
        sendError(response, correlationId, error.code, error.message, {
          ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
          headers: {
            ...(allowHeader ? { allow: allowHeader } : {}),
            // The rest of an oversized body is never read; close rather than leave it in the pipe.
            ...(tooLarge ? { connection: "close" } : {}),
          },
        });
        if (tooLarge) response.on("finish", () => request.destroy());
        return;
      }
      options.logger.error(
        { event: "api_error", correlationId, error: (error as Error).message },
        "local API request failed",
      );
      sendError(response, correlationId, "internal", "internal error");
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  boundPort = port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
