// jose's CryptoKey resolves to the host runtime's type (DOM, workers-types or Node), so
// this package typechecks in every consumer's compilation, whatever its `lib`.
import type { CryptoKey } from "jose";
import { z } from "zod";
import { base64urlDecode } from "./base64.js";

export type Ed25519PublicJwk = { kty: "OKP"; crv: "Ed25519"; x: string; kid?: string };
export type Ed25519PrivateJwk = Ed25519PublicJwk & { d: string };
export type Jwks = { keys: Record<string, unknown>[] };

const ED25519 = { name: "Ed25519" } as const;

function isKeyBytes(value: string): boolean {
  try {
    return base64urlDecode(value).length === 32;
  } catch {
    return false;
  }
}

const keyBytesSchema = z.string().refine(isKeyBytes, "must be base64url of 32 bytes");
const kidSchema = z.string().min(1).max(256);

/**
 * An Ed25519 public JWK. Members beyond kty/crv/x/kid (alg, use…) are tolerated on input and
 * dropped on output; a private member `d` is refused, so a private key pasted where a public
 * one belongs never gets used, published or embedded in a token.
 */
export const ed25519PublicJwkSchema = z
  .looseObject({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: keyBytesSchema, kid: kidSchema.optional() })
  .refine((jwk) => !Object.hasOwn(jwk, "d"), "must be a public key (has a private member d)")
  .transform(({ kty, crv, x, kid }): Ed25519PublicJwk => (kid === undefined ? { kty, crv, x } : { kty, crv, x, kid }));

export const ed25519PrivateJwkSchema = z
  .looseObject({
    kty: z.literal("OKP"),
    crv: z.literal("Ed25519"),
    x: keyBytesSchema,
    d: keyBytesSchema,
    kid: kidSchema.optional(),
  })
  .transform(
    ({ kty, crv, x, d, kid }): Ed25519PrivateJwk => (kid === undefined ? { kty, crv, x, d } : { kty, crv, x, d, kid }),
  );

/** A public key in a JWKS someone trusts: `kid` is required, since tokens pick their key by it. */
export const identifiedPublicJwkSchema = ed25519PublicJwkSchema.refine(
  (jwk) => jwk.kid !== undefined,
  "kid is required",
);

export function isCryptoKey(key: CryptoKey | object): key is CryptoKey {
  return !Object.hasOwn(key, "kty") && "type" in key && "algorithm" in key;
}

/** Parses with the schema, failing with a message that names the problem but never echoes key material. */
function parseJwk<T>(schema: z.ZodType<T>, jwk: unknown, what: string): T {
  const parsed = schema.safeParse(jwk);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(jwk)"}: ${issue.message}`);
    throw new TypeError(`invalid ${what}: ${problems.join("; ")}`);
  }
  return parsed.data;
}

export function parsePublicJwk(jwk: unknown): Ed25519PublicJwk {
  return parseJwk(ed25519PublicJwkSchema, jwk, "Ed25519 public JWK");
}

export function parsePrivateJwk(jwk: unknown): Ed25519PrivateJwk {
  return parseJwk(ed25519PrivateJwkSchema, jwk, "Ed25519 private JWK");
}

/** Imports a signing key, not extractable. */
export async function importPrivateKey(jwk: Ed25519PrivateJwk): Promise<CryptoKey> {
  const { kty, crv, x, d } = parsePrivateJwk(jwk);
  return crypto.subtle.importKey("jwk", { kty, crv, x, d }, ED25519, false, ["sign"]);
}

/** Imports a verification key. A private JWK is accepted here and only its public half used. */
export async function importPublicKey(jwk: Ed25519PublicJwk): Promise<CryptoKey> {
  const { kty, crv, x } = parsePublicJwk(withoutPrivateMember(jwk));
  return crypto.subtle.importKey("jwk", { kty, crv, x }, ED25519, false, ["verify"]);
}

function withoutPrivateMember(jwk: object): object {
  if (!Object.hasOwn(jwk, "d")) return jwk;
  const { d: _private, ...rest } = jwk as { d?: unknown };
  return rest;
}

/** A fresh Ed25519 key pair as JWKs (the private one carries `x` too, as RFC 8037 requires). */
export async function generateKeyPair(
  kid?: string,
): Promise<{ publicJwk: Ed25519PublicJwk; privateJwk: Ed25519PrivateJwk }> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as {
    privateKey: CryptoKey;
    publicKey: CryptoKey;
  };
  const exported = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const privateJwk = parsePrivateJwk(kid === undefined ? exported : { ...exported, kid });
  const { d: _private, ...publicJwk } = privateJwk;
  return { publicJwk, privateJwk };
}
