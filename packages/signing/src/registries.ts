import type { CryptoKey } from "jose";
import { z } from "zod";
import { identifiedPublicJwkSchema, importPublicKey, type Jwks } from "./jwk.js";

/** Trusted registries: `{ "<iss>": <JWKS> }` (PROTOCOL.md §2, var `REGISTRY_JWKS`). */
export type RegistryJwks = Record<string, Jwks>;

const jwksSchema = z
  .object({ keys: z.array(identifiedPublicJwkSchema) })
  .refine((jwks) => new Set(jwks.keys.map((key) => key.kid)).size === jwks.keys.length, "duplicate kid");

const registryJwksSchema = z.record(z.string().min(1), jwksSchema);

/**
 * Parses `REGISTRY_JWKS`. Every key must be an Ed25519 public JWK with a `kid`, unique within its
 * registry. The error names what is wrong and where, never a key value.
 */
export function parseRegistryJwks(json: string): RegistryJwks {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error("registry JWKS: not valid JSON");
  }
  const parsed = registryJwksSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new Error(`registry JWKS: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/** Finds the trusted key `kid` of registry `iss`, or null. Own properties only: `iss` comes from the token. */
export function findRegistryKey(registries: RegistryJwks, iss: string, kid: string): Record<string, unknown> | null {
  if (!Object.hasOwn(registries, iss)) return null;
  const jwks = registries[iss];
  return jwks?.keys.find((key) => key.kid === kid) ?? null;
}

/**
 * Imported registry keys, per isolate. Keyed by (iss, kid, x): a key rotated under a reused kid
 * (or a second registry set in tests) never hits a stale entry. Only keys found in the trusted
 * configuration are imported, so the map is bounded by that configuration.
 */
const registryKeyCache = new Map<string, Promise<CryptoKey>>();

export function importRegistryKey(iss: string, jwk: Record<string, unknown>): Promise<CryptoKey> {
  const { kid, x } = jwk;
  if (typeof kid !== "string" || typeof x !== "string") {
    return Promise.reject(new TypeError("registry key lacks kid or x"));
  }
  const cacheKey = JSON.stringify([iss, kid, x]);
  let imported = registryKeyCache.get(cacheKey);
  if (imported === undefined) {
    imported = importValidated(jwk);
    imported.catch(() => registryKeyCache.delete(cacheKey));
    registryKeyCache.set(cacheKey, imported);
  }
  return imported;
}

async function importValidated(jwk: Record<string, unknown>): Promise<CryptoKey> {
  const parsed = identifiedPublicJwkSchema.safeParse(jwk);
  if (!parsed.success) throw new TypeError("registry key is not an Ed25519 public JWK with a kid");
  return importPublicKey(parsed.data);
}
