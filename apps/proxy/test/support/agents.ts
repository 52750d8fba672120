import { exports } from "cloudflare:workers";
import {
  base64urlEncode,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  generateKeyPair,
  issueIdentityToken,
  signRequest,
} from "@clawrelay/signing";
import { SignJWT } from "jose";
import { ulid } from "ulid";
import testKeys from "../fixtures/keys.json";
import { realNow } from "./clock.js";
import type { Fetcher } from "./direct.js";

export const ORIGIN = "http://relay.test";
export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const RELAY_ORIGIN = "http://127.0.0.1:8787";
export type RegistryName = "trusted" | "trusted2" | "untrusted";

export interface TestAgent {
  id: string;
  token: string;
  publicJwk: Ed25519PublicJwk;
  privateJwk: Ed25519PrivateJwk;
}

export function registry(name: RegistryName = "trusted") {
  const entry = testKeys[name];
  return {
    iss: entry.iss,
    privateJwk: entry.privateJwk as Ed25519PrivateJwk,
    publicJwk: entry.publicJwk as Ed25519PublicJwk,
  };
}

export async function makeAgent(
  id: string,
  options: { registry?: RegistryName; relay?: string; lifetimeSeconds?: number; now?: number } = {},
): Promise<TestAgent> {
  const keys = await generateKeyPair();
  const reg = registry(options.registry);
  const token = await issueIdentityToken({
    registryPrivateJwk: reg.privateJwk,
    iss: reg.iss,
    sub: id,
    aud: "clawrelay",
    relay: options.relay ?? RELAY_ORIGIN,
    agentPublicJwk: keys.publicJwk,
    lifetimeSeconds: options.lifetimeSeconds ?? 3600,
    // Issued on the real clock: never in the future of a moved one (support/clock.ts).
    now: options.now ?? Math.floor(realNow() / 1000),
  });
  return { id, token, ...keys };
}

/** A raw identity token with any header and claims, signed EdDSA by a registry key (for negative tests). */
export async function rawToken(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  registryName: RegistryName = "trusted",
): Promise<string> {
  const reg = registry(registryName);
  const { importJWK } = await import("jose");
  const key = await importJWK(reg.privateJwk, "EdDSA");
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", ...header } as { alg: string }).sign(key);
}

export function unsignedToken(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const enc = (v: unknown) => base64urlEncode(new TextEncoder().encode(JSON.stringify(v)));
  return `${enc(header)}.${enc(claims)}.`;
}

export function standardClaims(agent: { id: string; publicJwk: Ed25519PublicJwk }, now = Math.floor(realNow() / 1000)) {
  return {
    iss: registry().iss,
    sub: agent.id,
    aud: "clawrelay",
    iat: now,
    exp: now + 3600,
    jti: ulid(),
    cnf: { jwk: agent.publicJwk },
    relay: RELAY_ORIGIN,
  };
}

export interface SignedCallOptions {
  /** How the request reaches the Worker (default SELF; the model test uses `fetchDirect`). */
  via?: Fetcher;
  body?: string | Uint8Array | null;
  contentType?: string | null;
  correlationId?: string;
  idempotencyKey?: string;
  timestamp?: number;
  nonce?: string;
  token?: string;
  /** Change the request after signing (tamper tests). */
  mutate?: (init: {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string | Uint8Array | null;
  }) => void;
}

/** Sign and send a request as `agent` to the Worker under test (SELF via `exports.default`). */
export async function signedCall(
  agent: TestAgent,
  method: string,
  path: string,
  options: SignedCallOptions = {},
): Promise<Response> {
  const url = `${ORIGIN}${path}`;
  const body = options.body ?? null;
  const { headers } = await signRequest({
    token: options.token ?? agent.token,
    privateKey: agent.privateJwk,
    method,
    url,
    body,
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
    ...(options.nonce ? { nonce: options.nonce } : {}),
  });
  if (body !== null && options.contentType !== null)
    headers["content-type"] = options.contentType ?? "application/json";
  const init = { method, url, headers, body };
  options.mutate?.(init);
  const request = new Request(init.url, { method: init.method, headers: init.headers, body: init.body });
  return options.via ? options.via(request) : exports.default.fetch(request);
}

export function adminCall(method: string, path: string, body?: unknown): Promise<Response> {
  return exports.default.fetch(
    new Request(`${ORIGIN}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
  );
}

export async function errorCode(res: Response): Promise<string> {
  const json = (await res.json()) as { error?: { code?: string } };
  return json.error?.code ?? `<no error code, status ${res.status}>`;
}

/** Sends a message body; the recipient must be known. */
export function sendMessage(
  from: TestAgent,
  to: string,
  body: unknown,
  options: SignedCallOptions = {},
): Promise<Response> {
  return signedCall(from, "POST", `/v1/agents/${to}/messages`, { body: JSON.stringify(body), ...options });
}
