import { SignJWT } from "jose";
import {
  base64urlEncode,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  generateKeyPair,
  importPrivateKey,
  type RegistryJwks,
  TokenError,
  type TokenErrorCode,
  type VerifyIdentityOptions,
  verifyIdentityToken,
} from "../../src/index.js";

export const NOW = 1_767_225_600;
export const AUDIENCE = "clawrelay";

export interface TestRegistry {
  iss: string;
  kid: string;
  publicJwk: Ed25519PublicJwk;
  privateJwk: Ed25519PrivateJwk;
}

export async function makeRegistry(iss: string): Promise<TestRegistry> {
  const kid = `${iss}-1`;
  const { publicJwk, privateJwk } = await generateKeyPair(kid);
  return { iss, kid, publicJwk, privateJwk };
}

export function trusting(...registries: TestRegistry[]): RegistryJwks {
  return Object.fromEntries(registries.map((r) => [r.iss, { keys: [r.publicJwk] }]));
}

export function claimsFor(registry: TestRegistry, agentJwk: Ed25519PublicJwk, overrides: Record<string, unknown> = {}) {
  return {
    iss: registry.iss,
    sub: "alice.agent",
    aud: AUDIENCE,
    iat: NOW - 60,
    exp: NOW + 3600,
    jti: "01JGZ8Y5Q6S7T8V9W0X1Y2Z3A4",
    cnf: { jwk: agentJwk },
    relay: "https://relay.example.com",
    ...overrides,
  };
}

export function without(claims: Record<string, unknown>, name: string): Record<string, unknown> {
  const { [name]: _dropped, ...rest } = claims;
  return rest;
}

/** Signs any header and claims with an Ed25519 key, bypassing every check of issueIdentityToken. */
export async function signRaw(
  claims: Record<string, unknown>,
  privateJwk: Ed25519PrivateJwk,
  header: Record<string, unknown>,
): Promise<string> {
  const key = await importPrivateKey(privateJwk);
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", ...header }).sign(key);
}

export function unsigned(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const part = (value: unknown) => base64urlEncode(new TextEncoder().encode(JSON.stringify(value)));
  return `${part(header)}.${part(claims)}.`;
}

/** Asserts the TokenError code, and that the message does not leak the token. */
export async function expectRejected(token: string, options: VerifyIdentityOptions, code: TokenErrorCode) {
  const outcome = await verifyIdentityToken(token, options).then(
    () => new Error("token was accepted"),
    (err: unknown) => err,
  );
  if (!(outcome instanceof TokenError)) throw outcome;
  if (outcome.code !== code) throw new Error(`expected ${code}, got ${outcome.code}: ${outcome.message}`);
  const signature = token.split(".")[2] ?? "";
  if (signature.length > 8 && outcome.message.includes(signature)) throw new Error("error message leaks the token");
}
