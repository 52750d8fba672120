// `clawrelay relay init`: what a deployed relay needs and nothing in the repository holds — the
// admin token, the receipt-signing key (secrets) and the registries it trusts and its origin (vars).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { generateKeyPair, isHttpOrigin, parsePrivateJwk, parseRegistryJwks } from "@clawrelay/signing";
import { z } from "zod";
import { CliError } from "./errors.js";
import { ensureDir, exists, jsonLine, parseJsonText, readJson, readPrivateText, writeFileAtomic } from "./files.js";
import { defaultKid, initRegistry, REGISTRY_FILES } from "./registry-files.js";

export const RELAY_FILES = {
  adminToken: "admin-token",
  signingKey: "relay-signing.jwk.json",
  vars: "wrangler-vars.toml",
  metadata: "relay.json",
} as const;

/** 32 random bytes: far past guessing, and the Worker wants at least 16 characters. */
const ADMIN_TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,}$/;

const metadataSchema = z.object({ origin: z.string().nullable() });
const registryMetadataSchema = z.object({ iss: z.string().min(1) });
const jwksFileSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

export interface RelayInitInput {
  out: string;
  /** Registry dirs named with --registry; empty means the default one, made when missing. */
  registries: string[];
  defaultRegistry: { dir: string; iss: string };
  origin?: string;
  force: boolean;
  now: Date;
}

export interface RegistryUsed {
  iss: string;
  dir: string;
  created: boolean;
}

export interface RelayInitResult {
  dir: string;
  origin: string | null;
  files: { adminToken: string; signingKey: string; vars: string; metadata: string };
  kept: { adminToken: boolean; signingKey: boolean };
  signingKid: string;
  registries: RegistryUsed[];
  vars: { RELAY_ORIGIN?: string; REGISTRY_JWKS: string };
  varsToml: string;
  warnings: string[];
  secrets: { ADMIN_TOKEN: string; RELAY_SIGNING_JWK: string };
}

/** Names that only ever mean this machine: right for `wrangler dev`, refused by a deployed relay. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "[::1]" ||
    host === "0.0.0.0" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

export function checkOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`--origin "${value}" is not a URL; give the relay's origin, e.g. https://relay.example.com`);
  }
  const pathless = url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "";
  if (!pathless || !isHttpOrigin(url.origin)) {
    throw new CliError(`--origin "${value}" is not an origin: scheme and host only, e.g. https://relay.example.com`);
  }
  return url.origin;
}

/** A TOML string: literal (no escapes) when it can be, else a basic string, whose escapes JSON's are. */
export function tomlString(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a literal string cannot hold control characters
  return /['\u0000-\u001f\u007f]/.test(value) ? JSON.stringify(value) : `'${value}'`;
}

async function readRegistry(dir: string): Promise<{ iss: string; jwks: z.infer<typeof jwksFileSchema> }> {
  const hint = { what: "registry", createdBy: "clawrelay registry init" };
  const { iss } = await readJson(join(dir, REGISTRY_FILES.metadata), registryMetadataSchema, hint);
  const jwks = await readJson(join(dir, REGISTRY_FILES.publicJwks), jwksFileSchema, { ...hint, what: "registry JWKS" });
  return { iss, jwks };
}

/** REGISTRY_JWKS from the named registries, or the default one (made when there is none yet). */
async function registryJwks(input: RelayInitInput): Promise<{ json: string; used: RegistryUsed[] }> {
  const entries: Record<string, unknown> = {};
  const used: RegistryUsed[] = [];
  if (input.registries.length === 0) {
    const { dir, iss } = input.defaultRegistry;
    let created = false;
    if (!(await exists(join(dir, REGISTRY_FILES.publicJwks)))) {
      await initRegistry({ dir, iss, kid: defaultKid(iss, input.now), force: false });
      created = true;
    }
    const registry = await readRegistry(dir);
    entries[registry.iss] = registry.jwks;
    used.push({ iss: registry.iss, dir, created });
  }
  for (const dir of input.registries) {
    const registry = await readRegistry(dir);
    if (Object.hasOwn(entries, registry.iss)) throw new CliError(`two registries are both ${registry.iss}`);
    entries[registry.iss] = registry.jwks;
    used.push({ iss: registry.iss, dir, created: false });
  }
  const json = JSON.stringify(entries);
  try {
    // The parser the relay's token checks hold REGISTRY_JWKS to: Ed25519 public keys, each with a kid.
    parseRegistryJwks(json);
  } catch (error) {
    throw new CliError(`the registry keys would not be accepted by a relay: ${(error as Error).message}`);
  }
  return { json, used };
}

async function keptOrNew<T>(
  path: string,
  force: boolean,
  what: string,
  read: (text: string) => T,
  make: () => Promise<T>,
): Promise<{ value: T; kept: boolean }> {
  if (!force && (await exists(path))) {
    const text = await readPrivateText(path, { what, createdBy: "clawrelay relay init" });
    return { value: read(text), kept: true };
  }
  return { value: await make(), kept: false };
}

function readToken(path: string) {
  return (text: string): string => {
    const token = text.trim();
    if (!TOKEN_PATTERN.test(token)) throw new CliError(`${path} is not an admin token; pass --force to make a new one`);
    return token;
  };
}

function readSigningKey(path: string) {
  return (text: string): string => {
    try {
      const jwk = parsePrivateJwk(parseJsonText(text, path));
      if (!jwk.kid) throw new Error("no kid");
      return JSON.stringify(jwk);
    } catch {
      throw new CliError(`${path} is not an Ed25519 private JWK with a kid; pass --force to make a new one`);
    }
  };
}

export async function initRelay(input: RelayInitInput): Promise<RelayInitResult> {
  const dir = input.out;
  const files = {
    adminToken: join(dir, RELAY_FILES.adminToken),
    signingKey: join(dir, RELAY_FILES.signingKey),
    vars: join(dir, RELAY_FILES.vars),
    metadata: join(dir, RELAY_FILES.metadata),
  };
  await ensureDir(dir);
  const previous = (await exists(files.metadata))
    ? await readJson(files.metadata, metadataSchema, { what: "relay metadata", createdBy: "clawrelay relay init" })
    : { origin: null };
  const origin = input.origin === undefined ? previous.origin : checkOrigin(input.origin);
  const { json: registries, used } = await registryJwks(input);

  const token = await keptOrNew(files.adminToken, input.force, "admin token", readToken(files.adminToken), async () =>
    randomBytes(ADMIN_TOKEN_BYTES).toString("base64url"),
  );
  const signing = await keptOrNew(
    files.signingKey,
    input.force,
    "relay signing key",
    readSigningKey(files.signingKey),
    async () => {
      const kid = `relay-${input.now.toISOString().slice(0, 7)}-${randomBytes(3).toString("hex")}`;
      return JSON.stringify((await generateKeyPair(kid)).privateJwk);
    },
  );
  // No trailing newline: `wrangler secret put NAME < file` stores stdin as it comes.
  if (!token.kept) await writeFileAtomic(files.adminToken, token.value, 0o600);
  if (!signing.kept) await writeFileAtomic(files.signingKey, signing.value, 0o600);

  const warnings: string[] = [];
  const varsLines = ["[vars]"];
  if (origin === null) {
    varsLines.push(
      `# RELAY_ORIGIN = "https://<the URL wrangler deploy prints>"   (run relay init again with --origin)`,
    );
  } else {
    const { hostname, protocol } = new URL(origin);
    if (isLocalHost(hostname)) {
      warnings.push(`${origin} only suits local use (wrangler dev): a deployed relay refuses to serve with it`);
    } else if (protocol === "http:") {
      warnings.push(`${origin} is plain http: agents' identity tokens name it, so a deployed relay wants https`);
    }
    varsLines.push(`RELAY_ORIGIN = ${tomlString(origin)}`);
  }
  varsLines.push(`REGISTRY_JWKS = ${tomlString(registries)}`);
  const varsToml = `${varsLines.join("\n")}\n`;
  await writeFileAtomic(files.vars, varsToml, 0o644);
  await writeFileAtomic(files.metadata, jsonLine({ origin, registries: used.map((r) => r.iss) }), 0o644);

  const signingKid = parsePrivateJwk(JSON.parse(signing.value)).kid ?? "";
  return {
    dir,
    origin,
    files,
    kept: { adminToken: token.kept, signingKey: signing.kept },
    signingKid,
    registries: used,
    vars: { ...(origin === null ? {} : { RELAY_ORIGIN: origin }), REGISTRY_JWKS: registries },
    varsToml,
    warnings,
    secrets: { ADMIN_TOKEN: token.value, RELAY_SIGNING_JWK: signing.value },
  };
}
