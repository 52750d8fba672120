import { resolve } from "node:path";
import type { Command } from "commander";
import { resolveHome } from "./identity-files.js";
import {
  addJsonOption,
  colours,
  commandLine,
  fields,
  nextSteps,
  type OutputOptions,
  printJson,
  wantsHuman,
} from "./output.js";
import { checkLabel, registryDir } from "./registry-files.js";
import { initRelay, type RelayInitResult } from "./relay-init.js";

interface RelayInitOptions extends OutputOptions {
  origin?: string;
  out?: string;
  registry: string[];
  iss: string;
  force?: boolean;
  showSecrets?: boolean;
}

const KEEP_VARS_NOTE =
  "wrangler deploy replaces the vars set in the dashboard with wrangler.toml's [vars] (unless deployed with --keep-vars): keep them in wrangler.toml";

/** The commands that put the relay's secrets and vars in place, in the order they are run. */
function steps(result: RelayInitResult): { what: string; command: string }[] {
  const put = (name: string, file: string) => `npx wrangler secret put ${name} < ${commandLine([file])}`;
  const origin = result.origin ?? "https://<your relay>";
  return [
    {
      what: "store the secrets, from the directory with wrangler.toml (wrangler reads the value from stdin)",
      command: put("ADMIN_TOKEN", result.files.adminToken),
    },
    { what: "and the receipt-signing key", command: put("RELAY_SIGNING_JWK", result.files.signingKey) },
    {
      what: `set RELAY_ORIGIN and REGISTRY_JWKS in wrangler.toml's [vars] as in ${result.files.vars}, then deploy`,
      command: "npx wrangler deploy",
    },
    ...(result.origin === null
      ? [
          {
            what: "the deploy prints the workers.dev URL; run this again with it (the secrets are kept), and deploy again",
            command: commandLine(["clawrelay", "relay", "init", "--origin", "https://<name>.<subdomain>.workers.dev"]),
          },
        ]
      : []),
    { what: "check it (says what is missing when misconfigured)", command: `curl ${origin}/healthz` },
    {
      what: "make agent identities for it (their tokens name this relay)",
      command: commandLine(["clawrelay", "agent", "create", "<agent-id>", "--relay", origin]),
    },
    {
      what: "operate it",
      command: commandLine([
        "clawrelay",
        "admin",
        "status",
        "--relay",
        origin,
        "--admin-token-file",
        result.files.adminToken,
      ]),
    },
  ];
}

function describe(result: RelayInitResult, showSecrets: boolean): string {
  const palette = colours();
  const fate = (kept: boolean) => palette.dim(kept ? "(kept, 0600)" : "(new, 0600)");
  const rows: [string, string][] = [
    ["ADMIN_TOKEN", `${result.files.adminToken} ${fate(result.kept.adminToken)}`],
    ["RELAY_SIGNING_JWK", `${result.files.signingKey} ${fate(result.kept.signingKey)} kid ${result.signingKid}`],
    ["[vars]", result.files.vars],
    ...result.registries.map((r): [string, string] => [
      "registry",
      `${r.iss} from ${r.dir}${r.created ? palette.dim(" (new)") : ""}`,
    ]),
    ["RELAY_ORIGIN", result.origin ?? palette.yellow("not set yet: pass --origin once the relay has a URL")],
  ];
  const secrets = showSecrets
    ? `\n${fields(
        [
          ["ADMIN_TOKEN", result.secrets.ADMIN_TOKEN],
          ["RELAY_SIGNING_JWK", result.secrets.RELAY_SIGNING_JWK],
        ],
        palette,
      )}`
    : "";
  return `${palette.green("relay files in")} ${result.dir}\n${fields(rows, palette)}${secrets}\n${palette.bold("wrangler.toml:")}\n${result.varsToml}${palette.dim(`# ${KEEP_VARS_NOTE}`)}\n${nextSteps(steps(result), palette)}`;
}

/** `clawrelay relay init`: the secrets and vars a deployed relay needs (issue 16). */
export function registerRelayCommands(program: Command): void {
  const relay = program.command("relay").description("set up a relay (the Cloudflare Worker) to deploy");
  const init = relay
    .command("init")
    .description(
      "make the relay's ADMIN_TOKEN and receipt-signing key (files, mode 0600) and its REGISTRY_JWKS; print the wrangler secret put lines and the [vars] for wrangler.toml. Run again with --origin to update the vars: existing secrets are kept",
    )
    .option("--origin <url>", "the relay's public origin, e.g. https://relay.example.com (RELAY_ORIGIN)")
    .option("--out <dir>", "where the files go (default <home>/relay)")
    .option(
      "--registry <dir>",
      "a registry to trust (repeatable; default <home>/registry, created when missing)",
      (value: string, previous: string[]) => [...previous, resolve(value)],
      [] as string[],
    )
    .option("--iss <id>", "the id of a registry this creates", "local-registry")
    .option("--force", "replace the admin token and signing key (the deployed relay keeps the old until secret put)")
    .option("--show-secrets", "also print the secret values");
  addJsonOption(init).action(async (options: RelayInitOptions, command: Command) => {
    const home = resolveHome(command.optsWithGlobals<{ home?: string }>().home);
    const result = await initRelay({
      out: options.out === undefined ? resolve(home, "relay") : resolve(options.out),
      registries: options.registry,
      defaultRegistry: { dir: registryDir(home), iss: checkLabel(options.iss, "--iss") },
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      force: options.force === true,
      now: new Date(),
    });
    for (const warning of result.warnings) process.stderr.write(`clawrelay: warning: ${warning}\n`);
    if (wantsHuman(options)) {
      process.stdout.write(describe(result, options.showSecrets === true));
      return;
    }
    const { secrets, ...rest } = result;
    printJson({
      ...rest,
      commands: steps(result).map((step) => step.command),
      note: KEEP_VARS_NOTE,
      ...(options.showSecrets ? { secrets } : {}),
    });
  });
}
