import { errorBodySchema } from "@clawrelay/protocol";
import { signRequest } from "@clawrelay/signing";
import { z } from "zod";
import { type LocalTrace, localTraceSchema } from "../daemon/trace-wire.js";
import type { AgentIdentity } from "./identity-files.js";

/** GET /v1/agents/{to}/messages/{messageId} on the relay (PROTOCOL.md §4), as the CLI reads it. */
export const relayRecordSchema = z.object({
  messageId: z.string(),
  correlationId: z.string(),
  from: z.string(),
  to: z.string(),
  priority: z.string(),
  state: z.string(),
  enqueuedAt: z.number(),
  expiresAt: z.number(),
  attempts: z.number(),
  finishedAt: z.number().nullable(),
  terminal: z.string().nullable(),
  receipts: z.array(
    z.object({ receiptId: z.string(), status: z.string(), at: z.number(), reason: z.string().nullable() }),
  ),
  trace: z.array(z.object({ hop: z.string(), at: z.number(), detail: z.record(z.string(), z.unknown()).nullable() })),
  recipient: z
    .object({
      connected: z.boolean(),
      offlineSince: z.number().nullable(),
      knownSince: z.number().nullable(),
      breaker: z.object({
        state: z.enum(["closed", "open", "half_open"]),
        openedAt: z.number().nullable(),
        probeAt: z.number().nullable(),
      }),
    })
    .optional(),
});
export type RelayRecord = z.infer<typeof relayRecordSchema>;

export type ConnectorAnswer =
  | { url: string; status: "found"; trace: LocalTrace }
  | { url: string; status: "not_found" | "unreachable" | "invalid_answer" }
  | { url: string; status: "error"; code: string };

export type RelayAuth = { kind: "agent"; identity: AgentIdentity } | { kind: "admin"; token: string };

export type RelayAnswer =
  | { url: string; status: "found"; record: RelayRecord }
  | { url: string; status: "unreachable" | "invalid_answer" }
  | { url: string; status: "error"; code: string; httpStatus: number };

function errorCode(body: unknown): string | null {
  const parsed = errorBodySchema.safeParse(body);
  return parsed.success ? parsed.data.error.code : null;
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return JSON.parse(await response.text());
  } catch {
    return undefined;
  }
}

/** A connector's loopback API and its token (PROTOCOL.md §8), when one is known. */
export interface ConnectorSource {
  url: string;
  token?: string;
}

/** One connector's local hops for `id` (`GET /v1/trace/{id}`). Never throws: the trace goes on without it. */
export async function fetchConnectorTrace(
  source: ConnectorSource,
  id: string,
  timeoutMs: number,
): Promise<ConnectorAnswer> {
  const url = source.url.replace(/\/+$/, "");
  let response: Response;
  try {
    response = await fetch(`${url}/v1/trace/${encodeURIComponent(id)}`, {
      headers: source.token !== undefined ? { authorization: `Bearer ${source.token}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    return { url, status: "unreachable" };
  }
  const body = await readJson(response);
  if (response.status === 404) return { url, status: "not_found" };
  if (!response.ok) return { url, status: "error", code: errorCode(body) ?? `http_${response.status}` };
  const parsed = localTraceSchema.safeParse(body);
  return parsed.success ? { url, status: "found", trace: parsed.data } : { url, status: "invalid_answer" };
}

/** The relay's record of one message, read as an agent (signed) or as the admin (bearer). */
export async function fetchRelayRecord(
  relayOrigin: string,
  to: string,
  messageId: string,
  auth: RelayAuth,
  timeoutMs: number,
): Promise<RelayAnswer> {
  const target = new URL(`/v1/agents/${encodeURIComponent(to)}/messages/${encodeURIComponent(messageId)}`, relayOrigin);
  const url = target.origin;
  let headers: Record<string, string>;
  if (auth.kind === "admin") {
    headers = { authorization: `Bearer ${auth.token}` };
  } else {
    ({ headers } = await signRequest({
      token: auth.identity.token,
      privateKey: auth.identity.privateJwk,
      method: "GET",
      url: target,
    }));
  }
  let response: Response;
  try {
    response = await fetch(target, { headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return { url, status: "unreachable" };
  }
  const body = await readJson(response);
  if (!response.ok) {
    return { url, status: "error", code: errorCode(body) ?? `http_${response.status}`, httpStatus: response.status };
  }
  const parsed = relayRecordSchema.safeParse(body);
  return parsed.success ? { url, status: "found", record: parsed.data } : { url, status: "invalid_answer" };
}
