import { signRequest } from "@clawrelay/signing";
import { loadAgentIdentity } from "../../src/cli/identity-files.js";

export interface SignedAnswer {
  status: number;
  headers: Headers;
  json: Record<string, unknown> & { error?: { code: string } };
}

/** One request signed as the agent in `identityDir` (PROTOCOL.md §3), sent to any relay. */
export async function signedFetch(
  identityDir: string,
  method: string,
  url: string,
  body?: unknown,
  idempotencyKey?: string,
): Promise<SignedAnswer> {
  const identity = await loadAgentIdentity(identityDir);
  const text = body === undefined ? null : JSON.stringify(body);
  const { headers } = await signRequest({
    token: identity.token,
    privateKey: identity.privateJwk,
    method,
    url,
    body: text,
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  if (text !== null) headers["content-type"] = "application/json";
  const res = await fetch(url, {
    method,
    headers,
    ...(text !== null ? { body: text } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as SignedAnswer["json"] };
}
