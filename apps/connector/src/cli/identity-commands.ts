import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { AGENT_ID_PATTERN, PROTOCOL_LIMITS, RELAY_DEFAULTS } from "@clawrelay/protocol";
import { generateKeyPair, isHttpOrigin, issueIdentityToken, parsePrivateJwk, parsePublicJwk } from "@clawrelay/signing";
import type { Command } from "commander";
import { z } from "zod";
import { CliError } from "./errors.js";
import {
  AGENT_FILES,
  agentDir,
  ensureDir,
  REGISTRY_FILES,
  readJson,
  registryDir,
  resolveHome,
  writeSecret,
} from "./identity-files.js";

const registryMetaSchema = z.object({ iss: z.string().min(1) });
const MAX_DAYS = PROTOCOL_LIMITS.tokenMaxLifetimeSeconds / 86_400;

function parseDays(value: string): number {
  const days = Number(value);
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS)
    throw new CliError(`--days must be a whole number from 1 to ${MAX_DAYS}`);
  return days;
}

async function loadRegistry(dir: string) {
  const madeBy = "clawrelay registry init";
  const meta = registryMetaSchema.safeParse(await readJson(join(dir, REGISTRY_FILES.meta), madeBy));
  if (!meta.success) throw new CliError(`${join(dir, REGISTRY_FILES.meta)} is not a registry description`);
  let privateJwk: ReturnType<typeof parsePrivateJwk>;
  try {
    privateJwk = parsePrivateJwk(await readJson(join(dir, REGISTRY_FILES.privateKey), madeBy));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${join(dir, REGISTRY_FILES.privateKey)} is not an Ed25519 private JWK`);
  }
  if (!privateJwk.kid) throw new CliError(`${join(dir, REGISTRY_FILES.privateKey)} has no kid`);
  return { iss: meta.data.iss, privateJwk };
}

async function issueFor(options: {
  home: string;
  registry?: string;
  id: string;
  relay: string;
  audience: string;
  days: number;
  publicJwk: ReturnType<typeof parsePublicJwk>;
}) {
  const registry = await loadRegistry(options.registry ? resolve(options.registry) : registryDir(options.home));
  const token = await issueIdentityToken({
    registryPrivateJwk: registry.privateJwk,
    iss: registry.iss,
    sub: options.id,
    aud: options.audience,
    relay: options.relay,
    agentPublicJwk: options.publicJwk,
    lifetimeSeconds: options.days * 86_400,
  });
  return { token, iss: registry.iss };
}

function summary(id: string, relay: string, iss: string, audience: string, token: string) {
  const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as {
    jti: string;
    exp: number;
  };
  return { id, relay, iss, audience, jti: claims.jti, exp: claims.exp };
}

export function registerIdentityCommands(program: Command, home: () => string): void {
  const registry = program.command("registry").description("the registry that issues agent identity tokens");
  registry
    .command("init")
    .description("write a registry key pair and print the REGISTRY_JWKS value for the relay")
    .option("--iss <id>", "registry id (the tokens' iss)", "local-registry")
    .option("--kid <kid>", "key id (default <iss>-<yyyy-mm>)")
    .option("--force", "replace an existing registry")
    .action(async (opts: { iss: string; kid?: string; force?: boolean }) => {
      const dir = registryDir(home());
      if (existsSync(join(dir, REGISTRY_FILES.privateKey)) && !opts.force) {
        throw new CliError(
          `a registry already exists in ${dir}; use --force to replace it (tokens it issued stop verifying)`,
        );
      }
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(opts.iss))
        throw new CliError("--iss must be 1-128 characters of A-Z a-z 0-9 . _ : -");
      const kid = opts.kid ?? `${opts.iss}-${new Date().toISOString().slice(0, 7)}`;
      const keys = await generateKeyPair(kid);
      await ensureDir(dir);
      await writeSecret(join(dir, REGISTRY_FILES.privateKey), JSON.stringify(keys.privateJwk));
      const jwks = { keys: [keys.publicJwk] };
      await writeSecret(join(dir, REGISTRY_FILES.publicJwks), JSON.stringify(jwks));
      await writeSecret(join(dir, REGISTRY_FILES.meta), JSON.stringify({ iss: opts.iss }));
      console.log(JSON.stringify({ [opts.iss]: jwks }));
    });

  const agent = program.command("agent").description("agent identities");
  agent
    .command("create <id>")
    .description("make an agent key pair and an identity token signed by the registry")
    .requiredOption("--relay <origin>", "the agent's home relay origin, e.g. https://relay.example.com")
    .option("--audience <aud>", "relay audience (RELAY_AUDIENCE)", RELAY_DEFAULTS.RELAY_AUDIENCE)
    .option("--days <n>", `token lifetime in days (1-${MAX_DAYS})`, "30")
    .option("--registry <dir>", "registry directory (default <home>/registry)")
    .option("--out <dir>", "where to write the identity (default <home>/agents/<id>)")
    .action(
      async (id: string, opts: { relay: string; audience: string; days: string; registry?: string; out?: string }) => {
        if (!AGENT_ID_PATTERN.test(id)) throw new CliError(`agent id "${id}" must match ${AGENT_ID_PATTERN.source}`);
        if (!isHttpOrigin(opts.relay))
          throw new CliError(`--relay must be an origin like https://relay.example.com (no path), got "${opts.relay}"`);
        const days = parseDays(opts.days);
        const dir = opts.out ? resolve(opts.out) : agentDir(home(), id);
        if (existsSync(join(dir, AGENT_FILES.privateKey)))
          throw new CliError(
            `an identity already exists in ${dir}; use \`clawrelay agent token ${id}\` to renew its token`,
          );
        const keys = await generateKeyPair();
        const { token, iss } = await issueFor({
          home: home(),
          ...(opts.registry ? { registry: opts.registry } : {}),
          id,
          relay: opts.relay,
          audience: opts.audience,
          days,
          publicJwk: keys.publicJwk,
        });
        await ensureDir(dir);
        await writeSecret(join(dir, AGENT_FILES.privateKey), JSON.stringify(keys.privateJwk));
        await writeSecret(join(dir, AGENT_FILES.publicKey), JSON.stringify(keys.publicJwk));
        await writeSecret(join(dir, AGENT_FILES.token), token);
        await writeSecret(
          join(dir, AGENT_FILES.meta),
          JSON.stringify({ id, relay: opts.relay, iss, audience: opts.audience }),
        );
        console.log(JSON.stringify({ ...summary(id, opts.relay, iss, opts.audience, token), dir }));
      },
    );

  agent
    .command("token <id>")
    .description("issue a fresh identity token for an existing agent (same key)")
    .option("--days <n>", `token lifetime in days (1-${MAX_DAYS})`, "30")
    .option("--registry <dir>", "registry directory (default <home>/registry)")
    .option("--dir <dir>", "the agent's identity directory (default <home>/agents/<id>)")
    .action(async (id: string, opts: { days: string; registry?: string; dir?: string }) => {
      if (!AGENT_ID_PATTERN.test(id)) throw new CliError(`agent id "${id}" must match ${AGENT_ID_PATTERN.source}`);
      const dir = opts.dir ? resolve(opts.dir) : agentDir(home(), id);
      const meta = z
        .object({ relay: z.string(), audience: z.string() })
        .safeParse(await readJson(join(dir, AGENT_FILES.meta), "clawrelay agent create <id> --relay <origin>"));
      if (!meta.success) throw new CliError(`${join(dir, AGENT_FILES.meta)} is not an agent description`);
      const publicJwk = parsePublicJwk(await readJson(join(dir, AGENT_FILES.publicKey), "clawrelay agent create"));
      const { token, iss } = await issueFor({
        home: home(),
        ...(opts.registry ? { registry: opts.registry } : {}),
        id,
        relay: meta.data.relay,
        audience: meta.data.audience,
        days: parseDays(opts.days),
        publicJwk,
      });
      await writeSecret(join(dir, AGENT_FILES.token), token);
      await writeSecret(
        join(dir, AGENT_FILES.meta),
        JSON.stringify({ id, relay: meta.data.relay, iss, audience: meta.data.audience }),
      );
      console.log(JSON.stringify(summary(id, meta.data.relay, iss, meta.data.audience, token)));
    });
}

export { resolveHome };
