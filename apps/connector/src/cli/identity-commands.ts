import { join, resolve } from "node:path";
import { RELAY_DEFAULTS } from "@clawrelay/protocol";
import type { Command } from "commander";
import { type AgentSummary, createAgent, renewAgentToken, type TokenSpec } from "./agent-identity.js";
import { CliError } from "./errors.js";
import { exists, jsonLine, readText } from "./files.js";
import {
  AGENT_FILES,
  agentDir,
  checkAgentId,
  decodeIdentityClaims,
  normalizeRelayOrigin,
  readAgentMetadata,
  readAgentPrivateJwk,
  resolveAgentRef,
  resolveHome,
} from "./identity-files.js";
import { describeAgent, describeNotRenewed, describeRegistry } from "./identity-view.js";
import { checkAudience, lifetimeFromDays, MAX_TOKEN_DAYS, wholeNumber } from "./options.js";
import { addJsonOption, type OutputOptions, wantsHuman } from "./output.js";
import { checkLabel, defaultKid, initRegistry, loadRegistry, registryDir } from "./registry-files.js";

const DEFAULT_DAYS = 30;
const DAY_SECONDS = 86_400;
const DEFAULT_ISS = "local-registry";

export function homeOf(command: Command): string {
  const { home } = command.optsWithGlobals<{ home?: string }>();
  return resolveHome(home);
}

/** The summary as one JSON line for scripts, or what was written and what to run next for a person. */
function printSummary(summary: AgentSummary, options: OutputOptions, verb: Parameters<typeof describeAgent>[1]): void {
  process.stdout.write(wantsHuman(options) ? describeAgent(summary, verb, Date.now()) : jsonLine(summary));
}

function registerRegistryCommands(program: Command): void {
  const registry = program.command("registry").description("the registry key that signs agent identity tokens");
  const init = registry
    .command("init")
    .description("create a registry signing key; prints the REGISTRY_JWKS value for relays as one JSON line")
    .option("--iss <id>", "registry id, the tokens' iss", DEFAULT_ISS)
    .option("--kid <kid>", "key id (default <iss>-<yyyy-mm>)")
    .option("--force", "replace an existing registry key");
  addJsonOption(init).action(
    async (options: { iss: string; kid?: string; force?: boolean } & OutputOptions, command: Command) => {
      const iss = checkLabel(options.iss, "--iss");
      const kid = checkLabel(options.kid ?? defaultKid(iss, new Date()), "--kid");
      const dir = registryDir(homeOf(command));
      const jwks = await initRegistry({ dir, iss, kid, force: options.force === true });
      if (wantsHuman(options)) {
        const { home } = command.optsWithGlobals<{ home?: string }>();
        process.stdout.write(describeRegistry({ iss, kid, dir, jwks, home }));
        return;
      }
      process.stdout.write(jsonLine(jwks));
      process.stderr.write(`registry ${iss} (kid ${kid}) written to ${dir}; the line above is REGISTRY_JWKS\n`);
    },
  );
}

interface CreateOptions extends OutputOptions {
  relay: string;
  audience: string;
  days?: string;
  registry?: string;
  out?: string;
  force?: boolean;
}

interface TokenOptions extends OutputOptions {
  days?: string;
  registry?: string;
  relay?: string;
  audience?: string;
}

interface RenewOptions extends TokenOptions {
  within?: string;
}

/** The current token's claims, or null when there is none to read. */
async function currentClaims(dir: string) {
  const tokenPath = join(dir, AGENT_FILES.token);
  if (!(await exists(tokenPath))) return null;
  return decodeIdentityClaims((await readText(tokenPath, { what: "", createdBy: "" })).trim(), tokenPath);
}

/** A new token for the key in `dir`, through the same steps for `agent token` and `agent renew`. */
async function reissue(home: string, dir: string, options: TokenOptions, lifetimeSeconds: number) {
  const privateJwk = await readAgentPrivateJwk(dir);
  const previous = await previousSpec(dir);
  const relay = options.relay ?? previous?.relay;
  if (previous === null || relay === undefined) {
    throw new CliError(
      `${dir} has neither ${AGENT_FILES.metadata} nor ${AGENT_FILES.token}; create the agent with: clawrelay agent create`,
    );
  }
  const spec: TokenSpec = {
    id: previous.id,
    relay: normalizeRelayOrigin(relay),
    audience: checkAudience(options.audience ?? previous.audience),
    lifetimeSeconds,
  };
  const registry = await loadRegistry(options.registry ? resolve(options.registry) : registryDir(home));
  return renewAgentToken({ dir, registry, spec, privateJwk });
}

/** Relay and audience for a renewed token: options first, then agent.json, then the old token. */
async function previousSpec(dir: string): Promise<{ id: string; relay: string; audience: string } | null> {
  if (await exists(join(dir, AGENT_FILES.metadata))) {
    const metadata = await readAgentMetadata(dir);
    return { id: metadata.id, relay: metadata.relay, audience: metadata.audience };
  }
  const tokenPath = join(dir, AGENT_FILES.token);
  if (await exists(tokenPath)) {
    const claims = decodeIdentityClaims((await readText(tokenPath, { what: "", createdBy: "" })).trim(), tokenPath);
    return { id: claims.sub, relay: claims.relay, audience: claims.aud };
  }
  return null;
}

function registerAgentCommands(program: Command): void {
  const agent = program.command("agent").description("agent identities: key pair and registry-signed token");
  const create = agent
    .command("create")
    .description("create an agent key pair and an identity token signed by the registry")
    .argument("<id>", "agent id")
    .requiredOption("--relay <origin>", "the agent's home relay origin, e.g. https://relay.example.com")
    .option("--audience <aud>", "relay audience (RELAY_AUDIENCE)", RELAY_DEFAULTS.RELAY_AUDIENCE)
    .option("--days <n>", `token lifetime in days, at most ${MAX_TOKEN_DAYS} (default ${DEFAULT_DAYS})`)
    .option("--registry <dir>", "registry directory (default <home>/registry)")
    .option("--out <dir>", "where to write the identity (default <home>/agents/<id>)")
    .option("--force", "replace an existing agent key");
  addJsonOption(create).action(async (rawId: string, options: CreateOptions, command: Command) => {
    const home = homeOf(command);
    const spec: TokenSpec = {
      id: checkAgentId(rawId),
      relay: normalizeRelayOrigin(options.relay),
      audience: checkAudience(options.audience),
      lifetimeSeconds: lifetimeFromDays(options.days, DEFAULT_DAYS),
    };
    const registry = await loadRegistry(options.registry ? resolve(options.registry) : registryDir(home));
    const dir = options.out ? resolve(options.out) : agentDir(home, spec.id);
    printSummary(await createAgent({ dir, registry, spec, force: options.force === true }), options, "created agent");
  });

  const token = agent
    .command("token")
    .description("issue a new identity token for an existing agent key (e.g. when the old one expired)")
    .argument("<agent>", "agent id, or the agent's directory")
    .option("--days <n>", `token lifetime in days, at most ${MAX_TOKEN_DAYS} (default ${DEFAULT_DAYS})`)
    .option("--registry <dir>", "registry directory (default <home>/registry)")
    .option("--relay <origin>", "move the agent to another home relay (default: unchanged)")
    .option("--audience <aud>", "relay audience (default: unchanged)");
  addJsonOption(token).action(async (ref: string, options: TokenOptions, command: Command) => {
    const home = homeOf(command);
    const lifetimeSeconds = lifetimeFromDays(options.days, DEFAULT_DAYS);
    printSummary(await reissue(home, resolveAgentRef(home, ref), options, lifetimeSeconds), options, "new token for");
  });

  const renew = agent
    .command("renew")
    .description(
      "re-issue an agent's identity token before it expires, for as long as the current one ran; run it where the registry key is, then restart the connector with the new identity.jwt",
    )
    .argument("<agent>", "agent id, or the agent's directory")
    .option("--within <days>", "renew only when the token expires within this many days (for a daily cron)")
    .option("--days <n>", `token lifetime in days, at most ${MAX_TOKEN_DAYS} (default: that of the current token)`)
    .option("--registry <dir>", "registry directory (default <home>/registry)")
    .option("--relay <origin>", "move the agent to another home relay (default: unchanged)")
    .option("--audience <aud>", "relay audience (default: unchanged)");
  addJsonOption(renew).action(async (ref: string, options: RenewOptions, command: Command) => {
    const home = homeOf(command);
    const dir = resolveAgentRef(home, ref);
    const claims = await currentClaims(dir);
    const within = options.within === undefined ? null : wholeNumber(options.within, "--within", 0, MAX_TOKEN_DAYS);
    if (claims !== null && within !== null && claims.exp - Math.floor(Date.now() / 1000) > within * DAY_SECONDS) {
      const expiresAt = new Date(claims.exp * 1000).toISOString();
      process.stdout.write(
        wantsHuman(options)
          ? describeNotRenewed(expiresAt, claims.sub, Date.now())
          : jsonLine({ id: claims.sub, dir, renewed: false, expiresAt }),
      );
      return;
    }
    // Same lifetime as the token it replaces, so a 7-day token stays a 7-day token.
    const previousLifetime = claims === null ? DEFAULT_DAYS * DAY_SECONDS : claims.exp - claims.iat;
    const lifetimeSeconds =
      options.days === undefined
        ? Math.min(Math.max(previousLifetime, DAY_SECONDS), MAX_TOKEN_DAYS * DAY_SECONDS)
        : lifetimeFromDays(options.days, DEFAULT_DAYS);
    const summary = await reissue(home, dir, options, lifetimeSeconds);
    if (wantsHuman(options)) {
      process.stdout.write(describeAgent(summary, "renewed", Date.now()));
      return;
    }
    process.stdout.write(jsonLine({ ...summary, renewed: true }));
    process.stderr.write(
      `renewed; a connector using ${dir} picks the new token up when restarted (copy ${AGENT_FILES.token} to its identityDir first if it runs elsewhere)\n`,
    );
  });
}

export function registerIdentityCommands(program: Command): void {
  registerRegistryCommands(program);
  registerAgentCommands(program);
}
