import { type DeliverItem, HEADERS, HOOK_MESSAGE_TYPE, HOOK_RECEIPT_TYPE } from "@clawrelay/protocol";
import { followAbort } from "./abort.js";
import { parseRetryAfter } from "./clock.js";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export type HookResult =
  | { kind: "delivered"; status: number }
  /** 408, 429, 5xx, network failure or timeout: try again later. */
  | { kind: "retry"; reason: string; status: number | null; retryAfterMs: number | undefined }
  /** Any other 4xx (or a 3xx we do not follow): the agent refused the item. */
  | { kind: "rejected"; reason: string; status: number };

export interface HookTarget {
  messageUrl: string;
  receiptUrl: string;
  token: string | undefined;
  timeoutMs: number;
}

export interface HookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** PROTOCOL.md §8: messages to the hook, receipts to the receipt hook, with correlation and message ids. */
export function buildHookRequest(item: DeliverItem, target: HookTarget): HookRequest {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (item.kind === "message") {
    headers[HEADERS.correlationId] = item.correlationId;
    headers[HEADERS.messageId] = item.id;
    return { url: target.messageUrl, body: JSON.stringify({ type: HOOK_MESSAGE_TYPE, item }), headers };
  }
  headers[HEADERS.correlationId] = item.receipt.correlationId;
  headers[HEADERS.messageId] = item.receipt.messageId;
  return {
    url: target.receiptUrl,
    body: JSON.stringify({ type: HOOK_RECEIPT_TYPE, receipt: item.receipt }),
    headers,
  };
}

/** A timer this late was not the hook being slow but this process not running (SIGSTOP, a VM pause, a long GC). */
const PAUSE_LATENESS_MS = 100;
/** After such a pause, how long the answer that may already be in the socket gets to be read. */
const PAUSE_GRACE_MS = 250;

/**
 * Like `AbortSignal.timeout(timeoutMs)`, except when the timer fires late: then this process was
 * paused, and after a pause Node runs expired timers before it reads sockets, so a hook that
 * answered in time would be taken for one that timed out and get the item a second time.
 * A late timer therefore first gives pending I/O a short grace. `parent` (the daemon's shutdown)
 * aborts it too.
 */
export function hookTimeout(timeoutMs: number, parent?: AbortSignal): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const detach = parent ? followAbort(parent, controller) : () => undefined;
  const startedAt = performance.now();
  const abort = () => controller.abort(new DOMException("the hook did not answer in time", "TimeoutError"));
  let timer = setTimeout(() => {
    if (performance.now() - startedAt - timeoutMs > PAUSE_LATENESS_MS) {
      timer = setTimeout(abort, PAUSE_GRACE_MS);
      timer.unref();
    } else {
      abort();
    }
  }, timeoutMs);
  // Like AbortSignal.timeout: a pending hook deadline alone never keeps the process alive.
  timer.unref();
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      detach();
    },
  };
}

export async function postHook(
  fetchFn: FetchLike,
  request: HookRequest,
  timeoutMs: number,
  now: () => number,
  shutdown: AbortSignal,
): Promise<HookResult> {
  let response: Response;
  const timeout = hookTimeout(timeoutMs, shutdown);
  try {
    response = await fetchFn(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: timeout.signal,
    });
  } catch (error) {
    timeout.clear();
    const name = (error as Error).name;
    const reason = name === "TimeoutError" || name === "AbortError" ? "hook_timeout" : "hook_unreachable";
    return { kind: "retry", reason, status: null, retryAfterMs: undefined };
  }
  timeout.clear();
  // The hook's answer body is not used; discard it so the connection can be reused.
  await response.body?.cancel().catch(() => undefined);
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  if (status === 408 || status === 429 || status >= 500) {
    return {
      kind: "retry",
      reason: `hook_status_${status}`,
      status,
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), now()),
    };
  }
  return { kind: "rejected", reason: `hook_status_${status}`, status };
}
