import { join } from "node:path";
import { type Ed25519PrivateJwk, type Ed25519PublicJwk, generateKeyPair, parsePrivateJwk } from "@clawrelay/signing";
import { z } from "zod";
import { CliError } from "./errors.js";
import { ensureDir, exists, jsonLine, parseJsonText, readJson, readPrivateText, writeFileAtomic } from "./files.js";

export const REGISTRY_FILES = {
  privateJwk: "registry.private.jwk.json",
  publicJwks: "registry.public.jwks.json",
  metadata: "registry.json",
} as const;

/** Issuer and key ids travel in tokens and in REGISTRY_JWKS: printable ASCII, no spaces. */
const LABEL_PATTERN = /^[\x21-\x7e]{1,128}$/;

const registryMetadataSchema = z.object({ iss: z.string().regex(LABEL_PATTERN) });

export interface Registry {
  dir: string;
  iss: string;
  privateJwk: Ed25519PrivateJwk & { kid: string };
}

export function registryDir(home: string): string {
  return join(home, "registry");
}

export function checkLabel(value: string, option: string): string {
  if (!LABEL_PATTERN.test(value)) throw new CliError(`${option} must be 1–128 printable characters without spaces`);
  return value;
}

/** `<iss>-<yyyy-mm>`: a new key each rotation gets a distinct kid without the user naming one. */
export function defaultKid(iss: string, now: Date): string {
  return `${iss}-${now.toISOString().slice(0, 7)}`;
}

const HINT_CREATE = "clawrelay registry init";

export async function loadRegistry(dir: string): Promise<Registry> {
  const keyPath = join(dir, REGISTRY_FILES.privateJwk);
  const raw = parseJsonText(
    await readPrivateText(keyPath, { what: "registry private key", createdBy: HINT_CREATE }),
    keyPath,
  );
  let privateJwk: Ed25519PrivateJwk;
  try {
    privateJwk = parsePrivateJwk(raw);
  } catch (error) {
    throw new CliError(`${keyPath}: ${error instanceof Error ? error.message : "not an Ed25519 private JWK"}`);
  }
  const { kid } = privateJwk;
  if (kid === undefined) throw new CliError(`${keyPath} has no kid; relays pick the registry key by it`);
  const metadata = await readJson(join(dir, REGISTRY_FILES.metadata), registryMetadataSchema, {
    what: "registry metadata",
    createdBy: HINT_CREATE,
  });
  return { dir, iss: metadata.iss, privateJwk: { ...privateJwk, kid } };
}

export interface InitRegistryInput {
  dir: string;
  iss: string;
  kid: string;
  force: boolean;
}

/** Creates the registry key files; returns the REGISTRY_JWKS entry `{ "<iss>": { keys: [publicJwk] } }`. */
export async function initRegistry(input: InitRegistryInput): Promise<Record<string, { keys: Ed25519PublicJwk[] }>> {
  const keyPath = join(input.dir, REGISTRY_FILES.privateJwk);
  if (!input.force) {
    for (const name of Object.values(REGISTRY_FILES)) {
      if (await exists(join(input.dir, name))) {
        throw new CliError(
          `a registry already exists in ${input.dir}; pass --force to replace its key (tokens it issued stop verifying once relays trust only the new key)`,
        );
      }
    }
  }
  await ensureDir(input.dir);
  const { publicJwk, privateJwk } = await generateKeyPair(input.kid);
  const jwks = { keys: [publicJwk] };
  await writeFileAtomic(keyPath, jsonLine(privateJwk), 0o600);
  await writeFileAtomic(join(input.dir, REGISTRY_FILES.publicJwks), jsonLine(jwks), 0o644);
  await writeFileAtomic(
    join(input.dir, REGISTRY_FILES.metadata),
    jsonLine({ iss: input.iss, kid: input.kid, createdAt: new Date().toISOString() }),
    0o644,
  );
  return { [input.iss]: jwks };
}
