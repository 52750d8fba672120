import { type DeliverItem, HEADERS, type ReceiptStatus } from "@clawrelay/protocol";
import { z } from "zod";
import { parseRetryAfter } from "../clock.js";
import { messageTurnText, receiptTurnText } from "./openclaw-text.js";
import { derivedSessionKey, rememberedSessionKey, type SessionKeyLookup } from "./session-key.js";
import type { HookAnswer, HookFormat, HookRequest, HookResult } from "./types.js";

export interface OpenClawTarget {
  /** The gateway's base URL, e.g. http://127.0.0.1:18789. */
  url: string;
  hooksPath: string;
  token: string;
  agentId: string | undefined;
  sessionKeyPrefix: string;
  waitForCompletion: boolean;
  receiptTurns: readonly ReceiptStatus[];
  timeoutMs: number;
}

/** The `POST /hooks/agent` body we send (docs/OPENCLAW.md "Into a gateway"). */
export interface OpenClawAgentBody {
  message: string;
  name: "clawrelay";
  sessionKey: string;
  sessionMode: "persistent";
  idempotencyKey: string;
  deliver: false;
  waitForCompletion: boolean;
  agentId?: string;
}

/** `200 {"ok":true,"runId"}`, with `completion` after the turn when we asked to wait for it. */
const admittedSchema = z.looseObject({
  ok: z.literal(true),
  runId: z.string().min(1),
  completion: z.looseObject({ status: z.enum(["ok", "error", "skipped"]) }).optional(),
});

export const HOOK_TOKEN_REFUSED = "hook token refused";

export function agentHookUrl(target: Pick<OpenClawTarget, "url" | "hooksPath">): string {
  const base = target.url.replace(/\/+$/, "");
  const path = `/${target.hooksPath.replace(/^\/+|\/+$/g, "")}`;
  return `${base}${path === "/" ? "" : path}/agent`;
}

function unexpected(status: number, what: string): HookResult {
  return { kind: "retry", reason: `openclaw_unexpected_${what}`, status, retryAfterMs: undefined, unexpected: true };
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The answers of `POST /hooks/agent` (PROTOCOL.md §8): 2xx admitted (and, waiting for completion,
 * how the turn ended); 400 and 413 refuse the item; 401 and 403 refuse our token, which no retry
 * mends, so the hook is held; 408, 409, 429 and 5xx are worth another try; anything else is not
 * documented and is retried too rather than trusted.
 */
export function interpretOpenClawAnswer(answer: HookAnswer, now: number): HookResult {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const parsed = admittedSchema.safeParse(parseJson(answer.body));
    if (!parsed.success) return unexpected(status, "body");
    // A gateway that ignores waitForCompletion still admitted the run: the turn will happen.
    switch (parsed.data.completion?.status ?? "ok") {
      case "ok":
        return { kind: "delivered", status };
      case "error":
        return { kind: "rejected", reason: "openclaw_turn_error", status };
      case "skipped":
        // The gateway skips a turn whose model failed its preflight: the agent never read the
        // message, and a later try (once the model is back) can still reach it.
        return { kind: "retry", reason: "openclaw_turn_skipped", status, retryAfterMs: undefined };
    }
  }
  if (status === 400 || status === 413) return { kind: "rejected", reason: `hook_status_${status}`, status };
  if (status === 401 || status === 403) return { kind: "held", reason: HOOK_TOKEN_REFUSED, status };
  if (status === 408 || status === 409 || status === 429 || status >= 500) {
    return {
      kind: "retry",
      reason: `hook_status_${status}`,
      status,
      retryAfterMs: parseRetryAfter(answer.headers.get("retry-after"), now),
    };
  }
  return unexpected(status, `status_${status}`);
}

/** The turn an item becomes, or null for a receipt whose status is not one the agent hears about. */
export function openClawBody(
  item: DeliverItem,
  target: OpenClawTarget,
  lookup: SessionKeyLookup | undefined,
): OpenClawAgentBody | null {
  const prefix = target.sessionKeyPrefix;
  let message: string;
  let sessionKey: string;
  if (item.kind === "message") {
    message = messageTurnText(item);
    // A reply lands in the session its original was sent from, when that was remembered.
    sessionKey =
      rememberedSessionKey(lookup, prefix, [item.inReplyTo]) ??
      derivedSessionKey(prefix, item.from, item.conversationId ?? item.id);
  } else {
    const { receipt } = item;
    if (!target.receiptTurns.includes(receipt.status)) return null;
    message = receiptTurnText(receipt);
    // This connector's agent sent the original: the receipt goes to the session it was sent from.
    sessionKey =
      rememberedSessionKey(lookup, prefix, [receipt.messageId, receipt.correlationId]) ??
      derivedSessionKey(prefix, receipt.recipient, receipt.conversationId ?? receipt.messageId);
  }
  return {
    message,
    name: "clawrelay",
    sessionKey,
    sessionMode: "persistent",
    idempotencyKey: item.id,
    deliver: false,
    waitForCompletion: target.waitForCompletion,
    ...(target.agentId ? { agentId: target.agentId } : {}),
  };
}

/** Items as agent turns in an OpenClaw gateway (PROTOCOL.md §8 "Hook formats"). */
export function openClawFormat(target: OpenClawTarget, lookup?: SessionKeyLookup): HookFormat {
  const url = agentHookUrl(target);
  return {
    name: "openclaw",
    timeoutMs: target.timeoutMs,
    readsBody: true,
    request: (item): HookRequest | null => {
      const body = openClawBody(item, target, lookup);
      if (!body) return null;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        authorization: `Bearer ${target.token}`,
      };
      // The gateway ignores these; they let a proxy or a log in between name the message.
      headers[HEADERS.correlationId] = item.kind === "message" ? item.correlationId : item.receipt.correlationId;
      headers[HEADERS.messageId] = item.kind === "message" ? item.id : item.receipt.messageId;
      return { url, body: JSON.stringify(body), headers };
    },
    interpret: interpretOpenClawAnswer,
  };
}
