import { join } from "node:path";
import { type Ed25519PrivateJwk, generateKeyPair, issueIdentityToken } from "@clawrelay/signing";
import { CliError } from "./errors.js";
import { ensureDir, exists, jsonLine, writeFileAtomic } from "./files.js";
import { AGENT_FILES, type AgentMetadata, decodeIdentityClaims } from "./identity-files.js";
import type { Registry } from "./registry-files.js";

export interface TokenSpec {
  id: string;
  relay: string;
  audience: string;
  lifetimeSeconds: number;
}

/** The one-line summary printed after create/token: enough to script with, no secrets. */
export interface AgentSummary {
  id: string;
  dir: string;
  relay: string;
  iss: string;
  audience: string;
  jti: string;
  expiresAt: string;
}

async function issue(registry: Registry, spec: TokenSpec, agentPrivateJwk: Ed25519PrivateJwk) {
  const { kty, crv, x } = agentPrivateJwk;
  try {
    return await issueIdentityToken({
      registryPrivateJwk: registry.privateJwk,
      iss: registry.iss,
      sub: spec.id,
      aud: spec.audience,
      relay: spec.relay,
      agentPublicJwk: { kty, crv, x },
      lifetimeSeconds: spec.lifetimeSeconds,
    });
  } catch (error) {
    // The inputs were checked already; what is left is a bad registry key.
    throw new CliError(`cannot issue the identity token: ${error instanceof Error ? error.message : "unknown error"}`);
  }
}

/** Writes identity.jwt and agent.json for a token issued now; the key files are the caller's. */
async function writeToken(dir: string, token: string): Promise<AgentSummary> {
  const claims = decodeIdentityClaims(token, "the issued token");
  const metadata: AgentMetadata = {
    id: claims.sub,
    relay: claims.relay,
    iss: claims.iss,
    audience: claims.aud,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
  };
  await writeFileAtomic(join(dir, AGENT_FILES.token), `${token}\n`, 0o600);
  await writeFileAtomic(join(dir, AGENT_FILES.metadata), jsonLine(metadata), 0o644);
  return {
    id: claims.sub,
    dir,
    relay: claims.relay,
    iss: claims.iss,
    audience: claims.aud,
    jti: claims.jti,
    expiresAt: new Date(claims.exp * 1000).toISOString(),
  };
}

export async function createAgent(input: {
  dir: string;
  registry: Registry;
  spec: TokenSpec;
  force: boolean;
}): Promise<AgentSummary> {
  const keyPath = join(input.dir, AGENT_FILES.privateJwk);
  if (!input.force && (await exists(keyPath))) {
    throw new CliError(
      `agent ${input.spec.id} already has a key in ${input.dir}; renew its token with: clawrelay agent token ${input.spec.id} (or pass --force to replace the key)`,
    );
  }
  const { privateJwk } = await generateKeyPair();
  const token = await issue(input.registry, input.spec, privateJwk);
  await ensureDir(input.dir);
  const { kty, crv, x } = privateJwk;
  await writeFileAtomic(keyPath, jsonLine(privateJwk), 0o600);
  await writeFileAtomic(join(input.dir, AGENT_FILES.publicJwk), jsonLine({ kty, crv, x }), 0o644);
  return writeToken(input.dir, token);
}

/** A new token for the key already in `dir`. */
export async function renewAgentToken(input: {
  dir: string;
  registry: Registry;
  spec: TokenSpec;
  privateJwk: Ed25519PrivateJwk;
}): Promise<AgentSummary> {
  const token = await issue(input.registry, input.spec, input.privateJwk);
  return writeToken(input.dir, token);
}
