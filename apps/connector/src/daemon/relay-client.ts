import { errorBodySchema, HEADERS, sendAnswerSchema } from "@clawrelay/protocol";
import { deadline } from "./abort.js";
import { readAnswerText } from "./answer-body.js";
import { parseRetryAfter } from "./clock.js";
import type { FetchLike } from "./hook-client.js";
import type { Signer } from "./signer.js";

export type RelaySendResult =
  | { kind: "accepted"; messageId: string | null; duplicate: boolean; status: number }
  /** 429 and 507 (and clock/nonce hiccups): the relay works but wants us to wait; not a breaker failure. */
  | { kind: "wait"; code: string; status: number; retryAfterMs: number | undefined }
  /** Network error, timeout, 5xx (503 included): counts against the breaker. */
  | { kind: "unavailable"; code: string; status: number | null; retryAfterMs: number | undefined }
  /** Any other 4xx: this message will never be accepted as it is. */
  | { kind: "rejected"; code: string; status: number; message: string };

/** 401s that a fresh timestamp and nonce (or a fixed clock) cure, unlike a dead token. */
const TRANSIENT_AUTH_CODES: ReadonlySet<string> = new Set(["timestamp_skew", "replayed_nonce"]);
const MAX_ANSWER_BYTES = 65_536;

export interface RelaySendRequest {
  url: string;
  body: string;
  correlationId: string;
  idempotencyKey: string;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One signed `POST /v1/agents/{to}/messages`, classified for the outbound worker. */
export async function sendToRelay(
  fetchFn: FetchLike,
  signer: Signer,
  request: RelaySendRequest,
  timeoutMs: number,
  now: () => number,
  shutdown: AbortSignal,
): Promise<RelaySendResult> {
  let response: Response;
  let text: string;
  const { signal, clear } = deadline(timeoutMs, shutdown);
  try {
    const headers = await signer({
      method: "POST",
      url: request.url,
      body: request.body,
      correlationId: request.correlationId,
      idempotencyKey: request.idempotencyKey,
    });
    response = await fetchFn(request.url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: request.body,
      redirect: "manual",
      signal,
    });
    // An answer over the cap is no JSON worth reading: judged like an unreadable one.
    text = (await readAnswerText(response, MAX_ANSWER_BYTES)) ?? "";
  } catch (error) {
    const name = (error as Error).name;
    const code = name === "TimeoutError" || name === "AbortError" ? "relay_timeout" : "relay_unreachable";
    return { kind: "unavailable", code, status: null, retryAfterMs: undefined };
  } finally {
    clear();
  }
  const status = response.status;
  const json = parseJson(text);
  if (status >= 200 && status < 300) {
    const answer = sendAnswerSchema.safeParse(json);
    return answer.success
      ? { kind: "accepted", messageId: answer.data.messageId, duplicate: answer.data.duplicate, status }
      : { kind: "accepted", messageId: null, duplicate: false, status };
  }
  const error = errorBodySchema.safeParse(json);
  const code = error.success ? error.data.error.code : `http_${status}`;
  const message = error.success ? error.data.error.message : `relay answered ${status}`;
  const headerWait = parseRetryAfter(response.headers.get(HEADERS.retryAfter), now());
  const bodyWait = error.success ? error.data.error.retryAfterSeconds : undefined;
  const retryAfterMs = headerWait ?? (bodyWait !== undefined ? bodyWait * 1000 : undefined);
  if (status === 429 || status === 507) return { kind: "wait", code, status, retryAfterMs };
  if (status === 401 && TRANSIENT_AUTH_CODES.has(code)) return { kind: "wait", code, status, retryAfterMs };
  if (status >= 500 || status === 408) return { kind: "unavailable", code, status, retryAfterMs };
  return { kind: "rejected", code, status, message };
}
