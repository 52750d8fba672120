import { createHash } from "node:crypto";

/**
 * The OpenClaw session key a remembered outbound message was sent from, by relay message id,
 * correlation id or outbound id; null or undefined when none was remembered. The store answers it
 * (another part of the connector remembers the key when the OpenClaw plugin sends).
 */
export type SessionKeyLookup = (idOrCorrelationId: string) => string | null | undefined;

/** Characters OpenClaw keeps in a session key as given; anything else is replaced. */
const UNSAFE = /[^A-Za-z0-9:._-]/g;
/** Session keys are kept short; a longer one is cut and made unique again by a hash of the whole. */
export const SESSION_KEY_MAX_LENGTH = 200;
/** `agent:<agentId>:<rest>` — how a key reads inside a gateway (a plugin tool's ctx.sessionKey). */
const AGENT_SCOPED = /^agent:[^:]+:(.+)$/;

function bounded(key: string): string {
  if (key.length <= SESSION_KEY_MAX_LENGTH) return key;
  const digest = createHash("sha256").update(key).digest("hex").slice(0, 16);
  return `${key.slice(0, SESSION_KEY_MAX_LENGTH - digest.length - 1)}-${digest}`;
}

function part(value: string): string {
  const cleaned = value.replace(UNSAFE, "_");
  return cleaned.length > 0 ? cleaned : "_";
}

/** `<prefix><peer>:<conversation>`: one persistent session per peer and conversation. */
export function derivedSessionKey(prefix: string, peer: string, conversation: string): string {
  return bounded(`${prefix}${part(peer)}:${part(conversation)}`);
}

/**
 * A remembered key as it may be sent back to `POST /hooks/agent`, or null when it cannot be.
 * Inside the gateway a key reads `agent:main:hook:clawrelay:…`; the hook takes the part after the
 * agent scope (the gateway scopes it to the target agent again). The gateway only admits keys
 * under its `hooks.allowedSessionKeyPrefixes`, which must admit our own prefix: a remembered key
 * outside the first segment of that prefix (say the user's `main` session) would be refused with
 * a 400 and fail the message, so the derived key is used instead.
 */
export function usableRememberedKey(remembered: string | null | undefined, prefix: string): string | null {
  if (!remembered) return null;
  const trimmed = remembered.trim();
  const unscoped = AGENT_SCOPED.exec(trimmed)?.[1] ?? trimmed;
  const key = bounded(unscoped.replace(UNSAFE, "_"));
  const colon = prefix.indexOf(":");
  const family = colon >= 0 ? prefix.slice(0, colon + 1) : prefix;
  return key.toLowerCase().startsWith(family.toLowerCase()) ? key : null;
}

/** The first remembered key among `ids` that can be used, else null. */
export function rememberedSessionKey(
  lookup: SessionKeyLookup | undefined,
  prefix: string,
  ids: readonly (string | undefined)[],
): string | null {
  if (!lookup) return null;
  for (const id of ids) {
    if (!id) continue;
    const key = usableRememberedKey(lookup(id), prefix);
    if (key) return key;
  }
  return null;
}
