import { homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import { AGENT_ID_PATTERN, agentIdSchema } from "@clawrelay/protocol";
import {
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  ed25519PublicJwkSchema,
  type IdentityClaims,
  isHttpOrigin,
  parsePrivateJwk,
} from "@clawrelay/signing";
import { decodeJwt } from "jose";
import { z } from "zod";
import { CliError } from "./errors.js";
import { describeIssues, exists, type FileHint, parseJsonText, readJson, readPrivateText, readText } from "./files.js";

export const AGENT_FILES = {
  privateJwk: "agent.private.jwk.json",
  publicJwk: "agent.public.jwk.json",
  token: "identity.jwt",
  metadata: "agent.json",
} as const;

/** `--home`, else `CLAWRELAY_HOME`, else `~/.clawrelay`; always absolute. */
export function resolveHome(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = option ?? (env.CLAWRELAY_HOME ? env.CLAWRELAY_HOME : undefined) ?? join(homedir(), ".clawrelay");
  return resolve(chosen);
}

export function agentsRoot(home: string): string {
  return join(home, "agents");
}

export function agentDir(home: string, id: string): string {
  return join(agentsRoot(home), id);
}

export function checkAgentId(id: string): string {
  if (!AGENT_ID_PATTERN.test(id)) {
    throw new CliError(
      `invalid agent id "${id}": use 3–64 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit`,
    );
  }
  return id;
}

/**
 * `--agent` takes an id (looked up under <home>/agents) or a directory. An agent id can never
 * hold a path separator, so anything with one is a directory.
 */
export function resolveAgentRef(home: string, ref: string): string {
  if (ref.includes("/") || ref.includes("\\")) return resolve(ref);
  if (AGENT_ID_PATTERN.test(ref)) return agentDir(home, ref);
  throw new CliError(`"${ref}" is neither an agent id nor a directory (write a directory as ./${ref})`);
}

/** A relay origin as typed (`https://Relay.example.com/`) in the exact form tokens carry. */
export function normalizeRelayOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`--relay "${value}" is not a URL; give the relay's origin, e.g. https://relay.example.com`);
  }
  const pathless = url.pathname === "/" && url.search === "" && url.hash === "";
  if (!pathless || url.username !== "" || url.password !== "" || !isHttpOrigin(url.origin)) {
    throw new CliError(
      `--relay "${value}" is not an origin; give scheme and host only (http or https, optional port), e.g. https://relay.example.com`,
    );
  }
  return url.origin;
}

export const agentMetadataSchema = z.object({
  id: agentIdSchema,
  relay: z.string().refine(isHttpOrigin, "must be an http(s) origin"),
  iss: z.string().min(1),
  audience: z.string().min(1),
  // Copies of the token's claims for people reading the directory; the token is authoritative,
  // and identities made before these were written still load.
  jti: z.string().min(1).optional(),
  iat: z.number().int().nonnegative().optional(),
  exp: z.number().int().nonnegative().optional(),
});
export type AgentMetadata = z.infer<typeof agentMetadataSchema>;

/** The identity token's claims as written, NOT verified: only the relay can verify them. */
const unverifiedClaimsSchema = z.object({
  iss: z.string().min(1),
  sub: agentIdSchema,
  aud: z.string().min(1),
  iat: z.number().int().nonnegative(),
  exp: z.number().int().nonnegative(),
  jti: z.string().min(1),
  cnf: z.object({ jwk: ed25519PublicJwkSchema }),
  relay: z.string().refine(isHttpOrigin, "must be an http(s) origin"),
});

/** For the default layout (<home>/agents/<id>) the directory's name is the agent id. */
function agentHint(dir: string, what: string, command: "create" | "token"): FileHint {
  const id = basename(dir);
  return {
    what,
    createdBy: command === "create" ? `clawrelay agent create ${id} --relay <origin>` : `clawrelay agent token ${id}`,
  };
}

export async function readAgentPrivateJwk(dir: string): Promise<Ed25519PrivateJwk> {
  const path = join(dir, AGENT_FILES.privateJwk);
  const raw = parseJsonText(await readPrivateText(path, agentHint(dir, "agent private key", "create")), path);
  try {
    return parsePrivateJwk(raw);
  } catch (error) {
    throw new CliError(`${path}: ${error instanceof Error ? error.message : "not an Ed25519 private JWK"}`);
  }
}

export async function readAgentMetadata(dir: string): Promise<AgentMetadata> {
  return readJson(join(dir, AGENT_FILES.metadata), agentMetadataSchema, agentHint(dir, "agent metadata", "create"));
}

/** Decodes (without verifying) an identity token's claims; the file path is only for messages. */
export function decodeIdentityClaims(token: string, where: string): IdentityClaims {
  let payload: unknown;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new CliError(`${where} does not hold a readable identity token`);
  }
  const parsed = unverifiedClaimsSchema.safeParse(payload);
  if (!parsed.success)
    throw new CliError(`${where} holds a token without valid claims: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export interface AgentIdentity {
  dir: string;
  id: string;
  relay: string;
  token: string;
  privateJwk: Ed25519PrivateJwk;
  publicJwk: Ed25519PublicJwk;
  /** Decoded from the token, not verified (the relay verifies). */
  claims: IdentityClaims;
}

/**
 * Loads an agent identity directory: `identity.jwt` and `agent.private.jwk.json` are required;
 * `agent.json`, when present, must name the same agent. Throws CliError with the file at fault
 * and the command that fixes it. Does not check expiry (see `assertTokenUnexpired`).
 */
export async function loadAgentIdentity(dir: string): Promise<AgentIdentity> {
  const root = resolve(dir);
  const tokenPath = join(root, AGENT_FILES.token);
  const privateJwk = await readAgentPrivateJwk(root);
  const token = (await readText(tokenPath, agentHint(root, "identity token", "token"))).trim();
  const claims = decodeIdentityClaims(token, tokenPath);
  if (claims.cnf.jwk.x !== privateJwk.x) {
    throw new CliError(
      `${tokenPath} was issued for another key than ${AGENT_FILES.privateJwk}; re-issue it with: clawrelay agent token ${claims.sub}`,
    );
  }
  if (await exists(join(root, AGENT_FILES.metadata))) {
    const metadata = await readAgentMetadata(root);
    if (metadata.id !== claims.sub) {
      throw new CliError(
        `${join(root, AGENT_FILES.metadata)} names agent ${metadata.id}, the token is for ${claims.sub}`,
      );
    }
  }
  const { kty, crv, x } = privateJwk;
  return { dir: root, id: claims.sub, relay: claims.relay, token, privateJwk, publicJwk: { kty, crv, x }, claims };
}

/** Refuses a token past its `exp`, with the command that renews it. */
export function assertTokenUnexpired(identity: Pick<AgentIdentity, "id" | "claims">, nowSeconds: number): void {
  if (identity.claims.exp <= nowSeconds) {
    const at = new Date(identity.claims.exp * 1000).toISOString();
    throw new CliError(`identity token expired at ${at}; run clawrelay agent token ${identity.id}`);
  }
}
