import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Command, Option } from "commander";
import { ConfigError, loadConnectorConfig } from "../daemon/config.js";
import { CliError, EXIT } from "./errors.js";
import { exists, writeFileAtomic } from "./files.js";
import { addJsonOption, colours, fields, nextSteps, type OutputOptions, printJson, wantsHuman } from "./output.js";
import {
  chooseKind,
  copyStep,
  currentHost,
  planService,
  type ServiceHost,
  type ServicePlan,
  type ServiceStep,
  withReplaceSteps,
} from "./service-plan.js";

interface InstallOptions extends OutputOptions {
  config: string;
  systemd?: boolean;
  system?: boolean;
  user?: string;
  launchd?: boolean;
  out?: string;
  print?: boolean;
  force?: boolean;
}

const KIND_LABEL = {
  "systemd-user": "systemd user unit",
  "systemd-system": "systemd system unit",
  launchd: "launchd agent",
} as const;

/** Only the unit on stdout (so `--print > file` works); where it goes and what to run on stderr. */
function printUnit(plan: ServicePlan, options: InstallOptions): void {
  if (options.json) {
    printJson({ ...summary(plan, null, plan.steps), unit: plan.unit });
    return;
  }
  process.stdout.write(plan.unit);
  const steps = plan.steps.map((step) => `#   ${step.command}`).join("\n");
  process.stderr.write(`# a ${KIND_LABEL[plan.kind]}: put it at ${plan.path}, then:\n${steps}\n`);
}

function summary(plan: ServicePlan, written: string | null, steps: readonly ServiceStep[]) {
  return {
    kind: plan.kind,
    name: plan.name,
    path: plan.path,
    written,
    ...(plan.user === undefined ? {} : { user: plan.user }),
    commands: steps.map((step) => step.command),
    warnings: plan.warnings,
  };
}

async function writeUnit(plan: ServicePlan, target: string, force: boolean): Promise<boolean> {
  const existed = await exists(target);
  if (existed && !force) throw new CliError(`${target} already exists; pass --force to replace it`);
  try {
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
  } catch {
    // writeFileAtomic below names the failure (permission denied, not a directory).
  }
  try {
    await writeFileAtomic(target, plan.unit, 0o644);
  } catch (error) {
    const hint =
      plan.kind === "systemd-system"
        ? "; run it with sudo, or write it with --out <file> and copy it with the command printed then"
        : "";
    throw new CliError(`${(error as Error).message}${hint}`);
  }
  return existed;
}

async function install(options: InstallOptions, host: ServiceHost): Promise<void> {
  if (options.systemd && options.launchd) throw new CliError("choose one of --systemd and --launchd");
  const configPath = resolve(options.config);
  const config = await loadConnectorConfig(configPath).catch((error: unknown) => {
    // One line, exit 1 (the config is bad, not the arguments): each problem names its field.
    if (error instanceof ConfigError)
      throw new CliError(`invalid connector config: ${error.problems.join("; ")}`, EXIT.failed);
    throw error;
  });
  const kind = chooseKind(options, host.platform);
  const plan = planService(
    { kind, agentId: config.agentId, configPath, ...(options.user === undefined ? {} : { user: options.user }) },
    host,
  );
  for (const warning of plan.warnings) process.stderr.write(`clawrelay: warning: ${warning}\n`);
  if (options.print || options.out === "-") {
    printUnit(plan, options);
    return;
  }
  const target = options.out === undefined ? plan.path : resolve(options.out);
  const replaced = await writeUnit(plan, target, options.force === true);
  const steps = [
    ...(target === plan.path ? [] : [copyStep(plan, target)]),
    ...(replaced ? withReplaceSteps(plan, config.agentId) : plan.steps),
  ];
  if (!wantsHuman(options)) {
    printJson(summary(plan, target, steps));
    return;
  }
  const palette = colours();
  const rows: [string, string][] = [
    ["agent", config.agentId],
    ["config", configPath],
    ["runs", `${host.nodePath} ${host.scriptPath}`],
    ...(plan.user === undefined ? [] : [["as user", plan.user] as [string, string]]),
  ];
  process.stdout.write(
    `${palette.green(replaced ? "replaced" : "wrote")} ${target} ${palette.dim(`(${KIND_LABEL[plan.kind]})`)}\n${fields(rows, palette)}${nextSteps(steps, palette)}`,
  );
}

/** `clawrelay service install`: a unit that keeps the connector running. */
export function registerServiceCommand(program: Command, host: () => ServiceHost = currentHost): void {
  const service = program.command("service").description("run the connector under a service manager");
  const command = service
    .command("install")
    .description(
      "write a systemd user unit (default), a system unit (--system) or a launchd agent (--launchd) that keeps the connector running, and print the commands that start it",
    )
    .requiredOption("--config <file>", "connector config file (JSON)")
    .addOption(new Option("--systemd", "a systemd unit (the default off macOS)").conflicts("launchd"))
    .addOption(
      new Option("--system", "a system unit for /etc/systemd/system, run as --user (default: you)").conflicts(
        "launchd",
      ),
    )
    .option("--user <name>", "with --system: the account the connector runs as")
    .addOption(new Option("--launchd", "a launchd agent in ~/Library/LaunchAgents (the default on macOS)"))
    .option("--out <file>", "write the unit here instead (- prints it)")
    .option("--print", "print the unit instead of writing it")
    .option("--force", "replace an existing unit file");
  addJsonOption(command).action(async (options: InstallOptions) => install(options, host()));
}
