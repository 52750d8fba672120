import { type DeliverItem, HEADERS, HOOK_MESSAGE_TYPE, HOOK_RECEIPT_TYPE } from "@clawrelay/protocol";
import { parseRetryAfter } from "../clock.js";
import type { HookAnswer, HookFormat, HookRequest, HookResult } from "./types.js";

export interface HookTarget {
  messageUrl: string;
  receiptUrl: string;
  token: string | undefined;
  timeoutMs: number;
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

/** §8: 2xx is success; 408, 429 and 5xx retry; any other answer (a 3xx we do not follow, a 4xx) fails at once. */
export function interpretClawrelayAnswer(answer: Pick<HookAnswer, "status" | "headers">, now: number): HookResult {
  const status = answer.status;
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  if (status === 408 || status === 429 || status >= 500) {
    return {
      kind: "retry",
      reason: `hook_status_${status}`,
      status,
      retryAfterMs: parseRetryAfter(answer.headers.get("retry-after"), now),
    };
  }
  return { kind: "rejected", reason: `hook_status_${status}`, status };
}

/** The default format: the item as JSON to the agent's own webhook. */
export function clawrelayFormat(target: HookTarget): HookFormat {
  return {
    name: "clawrelay",
    timeoutMs: target.timeoutMs,
    readsBody: false,
    request: (item) => buildHookRequest(item, target),
    interpret: interpretClawrelayAnswer,
  };
}
