import { createHmac, randomBytes } from "node:crypto";
import { HEADERS, HOOK_SECRET_PREFIX, HOOK_SIGNATURE_VERSION } from "@clawrelay/protocol";
import type { HookFormat } from "./hook-formats/types.js";

/**
 * Signed hook calls (PROTOCOL.md §8, the Standard Webhooks scheme): with a `hookSecret`, every
 * hook call of either format carries `webhook-id`, `webhook-timestamp` and `webhook-signature`,
 * so the agent can tell a call from its own connector from any other local process that can
 * reach its hook, and a replayed call by its id and time.
 */

/** Standard Webhooks keys are 24 to 64 bytes; `connector init` makes 32. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const NEW_KEY_BYTES = 32;
const SECRET_PATTERN = /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The key bytes of a `whsec_<base64>` secret, or null when it is not one (wrong shape or size). */
export function hookSecretKey(secret: string): Buffer | null {
  if (!SECRET_PATTERN.test(secret)) return null;
  const key = Buffer.from(secret.slice(HOOK_SECRET_PREFIX.length), "base64");
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : null;
}

export const HOOK_SECRET_RULE = `must be ${HOOK_SECRET_PREFIX}<base64 of ${MIN_KEY_BYTES}-${MAX_KEY_BYTES} random bytes>`;

export function newHookSecret(): string {
  return `${HOOK_SECRET_PREFIX}${randomBytes(NEW_KEY_BYTES).toString("base64")}`;
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. */
export function hookSignature(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", key).update(`${id}.${timestampSeconds}.${body}`, "utf8").digest("base64");
  return `${HOOK_SIGNATURE_VERSION},${mac}`;
}

/**
 * The format with every call signed. `request` is asked for each attempt just before the call is
 * made, so the timestamp is the call's own; the id is the item's, the same on every retry, for the
 * agent to deduplicate by.
 */
export function signHookCalls(format: HookFormat, secret: string | undefined, nowMs: () => number): HookFormat {
  if (secret === undefined) return format;
  const key = hookSecretKey(secret);
  if (key === null) throw new Error(`hookSecret ${HOOK_SECRET_RULE}`);
  return {
    name: format.name,
    timeoutMs: format.timeoutMs,
    readsBody: format.readsBody,
    interpret: (answer, now) => format.interpret(answer, now),
    request: (item) => {
      const request = format.request(item);
      if (request === null) return null;
      const timestamp = Math.floor(nowMs() / 1000);
      return {
        ...request,
        headers: {
          ...request.headers,
          [HEADERS.webhookId]: item.id,
          [HEADERS.webhookTimestamp]: String(timestamp),
          [HEADERS.webhookSignature]: hookSignature(key, item.id, timestamp, request.body),
        },
      };
    },
  };
}
