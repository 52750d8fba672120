// Which connector a client command talks to, when several agents share one machine: the
// connector config that `connector init` wrote for an agent holds its address and API token.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { CliError, EXIT } from "./errors.js";
import { agentsRoot, resolveAgentRef } from "./identity-files.js";

/** Where `connector init` writes an agent's connector config by default. */
export const CONNECTOR_CONFIG_NAME = "connector.json";

/** The target flags a command was given (see addTargetOptions). */
export interface TargetFlags {
  config?: string;
  agent?: string;
  port?: string;
  host?: string;
  dataDir?: string;
}

/** Variables that already say where the connector is or what its token is: no guessing then. */
const ADDRESS_VARIABLES = [
  "CLAWRELAY_LISTEN_HOST",
  "CLAWRELAY_LISTEN_PORT",
  "CLAWRELAY_API_TOKEN",
  "CLAWRELAY_DATA_DIR",
];

const set = (value: string | undefined): value is string => value !== undefined && value !== "";

/**
 * The connector config file a client command should read, or undefined for the address and token
 * from --port/--host/--data-dir, the CLAWRELAY_LISTEN_* variables and the defaults. In order:
 * 1. `--config` or `--agent` (both at once is a usage error);
 * 2. any of `--port`, `--host`, `--data-dir`: the connector is addressed by hand, no config;
 * 3. `CLAWRELAY_CONFIG` or `CLAWRELAY_AGENT` (both at once is a usage error);
 * 4. with none of those and no CLAWRELAY_LISTEN_HOST/PORT, CLAWRELAY_API_TOKEN, CLAWRELAY_DATA_DIR:
 *    the agent under `<home>/agents` with a connector.json, when there is exactly one. With two or
 *    more, a usage error naming them: every API route needs a token, so a default guess would only
 *    ever fail.
 */
export async function chooseConnectorConfig(
  flags: TargetFlags,
  home: string,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  if (set(flags.config) && set(flags.agent)) {
    throw new CliError("--config and --agent both name a connector; give one of them");
  }
  if (set(flags.config)) return flags.config;
  if (set(flags.agent)) return agentConnectorConfig(home, flags.agent, "--agent");
  if (set(flags.port) || set(flags.host) || set(flags.dataDir)) return undefined;
  if (set(env.CLAWRELAY_CONFIG) && set(env.CLAWRELAY_AGENT)) {
    throw new CliError("CLAWRELAY_CONFIG and CLAWRELAY_AGENT are both set; unset one, or pass --config or --agent");
  }
  if (set(env.CLAWRELAY_CONFIG)) return env.CLAWRELAY_CONFIG;
  if (set(env.CLAWRELAY_AGENT)) return agentConnectorConfig(home, env.CLAWRELAY_AGENT, "CLAWRELAY_AGENT");
  if (ADDRESS_VARIABLES.some((name) => set(env[name]))) return undefined;
  const found = await agentsWithConnector(home);
  if (found.length === 1) return (found[0] as { config: string }).config;
  if (found.length > 1) {
    const ids = found.map((agent) => agent.id).join(", ");
    throw new CliError(`several agents here have a connector (${ids}): pass --agent <id> or set CLAWRELAY_AGENT`);
  }
  return undefined;
}

/** `<home>/agents/<id>/connector.json` (or `<dir>/connector.json`), which must exist. */
async function agentConnectorConfig(home: string, ref: string, from: string): Promise<string> {
  const dir = resolveAgentRef(home, ref);
  if (!(await isDirectory(dir))) {
    throw new CliError(
      `unknown agent "${ref}" (${from}): no ${dir} (agents live in ${agentsRoot(home)}; --home moves it)`,
      EXIT.failed,
    );
  }
  const config = join(dir, CONNECTOR_CONFIG_NAME);
  if (!(await isFile(config))) {
    throw new CliError(
      `agent "${ref}" has no connector config at ${config} (write one with "clawrelay connector init --agent ${dir} --hook <url>", or pass --config)`,
      EXIT.failed,
    );
  }
  return config;
}

/** The agents under `<home>/agents` whose directory holds a connector.json, by id. */
export async function agentsWithConnector(home: string): Promise<{ id: string; config: string }[]> {
  let names: string[];
  try {
    names = await readdir(agentsRoot(home));
  } catch {
    // No agents directory (or none readable): nothing to choose from.
    return [];
  }
  const found: { id: string; config: string }[] = [];
  for (const id of names.sort()) {
    const config = join(agentsRoot(home), id, CONNECTOR_CONFIG_NAME);
    if (await isFile(config)) found.push({ id, config });
  }
  return found;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}
