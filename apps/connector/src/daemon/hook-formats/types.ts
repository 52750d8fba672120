import type { DeliverItem } from "@clawrelay/protocol";

export type HookFormatName = "clawrelay" | "openclaw";

export interface HookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

export type HookResult =
  | { kind: "delivered"; status: number }
  /**
   * 408, 429, 5xx, network failure or timeout: try again later. `unexpected` marks an answer the
   * hook's documentation does not list (a 404, a 2xx whose body is not what the format expects):
   * logged apart, and retried rather than trusted either way.
   */
  | { kind: "retry"; reason: string; status: number | null; retryAfterMs: number | undefined; unexpected?: boolean }
  /** The agent refused the item (or its turn ended in an error): it fails at once. */
  | { kind: "rejected"; reason: string; status: number }
  /**
   * The hook refused our credentials (an OpenClaw gateway's 401/403): no item is at fault, so none
   * is failed or charged an attempt; the worker stops calling until it is restarted with a fixed
   * config.
   */
  | { kind: "held"; reason: string; status: number };

/** A hook's answer as a format judges it; `body` is null when the format does not read it. */
export interface HookAnswer {
  status: number;
  headers: Headers;
  body: string | null;
}

/** How inbox items become hook calls, and what the answers mean (PROTOCOL.md §8 "Hook formats"). */
export interface HookFormat {
  readonly name: HookFormatName;
  readonly timeoutMs: number;
  /** Whether `interpret` needs the answer's body (read with a bound); otherwise it is discarded unread. */
  readonly readsBody: boolean;
  /** The call for an item, or null when the item is settled here without one. */
  request(item: DeliverItem): HookRequest | null;
  interpret(answer: HookAnswer, now: number): HookResult;
}
