// What `clawrelay service install` writes and where, and the exact commands that enable it:
// a systemd user unit (the default), a system unit that runs as a named user, or a launchd agent.
import { realpathSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import {
  launchdLabel,
  renderLaunchdPlist,
  renderSystemdUnit,
  type ServiceSpec,
  SYSTEM_USER_PATTERN,
  serviceName,
} from "../daemon/service-units.js";
import { CliError } from "./errors.js";
import { commandLine, shellWord } from "./output.js";

/** The machine facts a unit is made of; tests pass their own (a temp home, a fixed script). */
export interface ServiceHost {
  homeDir: string;
  nodePath: string;
  /** The real path of the running CLI script. */
  scriptPath: string;
  /** Who a system unit runs as by default: the user behind sudo, else the current user. */
  invokingUser: string;
  platform: NodeJS.Platform;
}

export function currentHost(): ServiceHost {
  const script = process.argv[1];
  if (!script) throw new CliError("cannot tell which script is running, so the unit would not know what to start");
  // `npm i -g` links <prefix>/bin/clawrelay to <prefix>/lib/node_modules/clawrelay/bin/clawrelay.mjs;
  // the unit names the target, the file that actually runs, not a link a later install repoints.
  const scriptPath = realpathSync(script);
  const viaSudo = process.getuid?.() === 0 ? process.env.SUDO_USER : undefined;
  return {
    homeDir: homedir(),
    nodePath: process.execPath,
    scriptPath,
    invokingUser: viaSudo || userInfo().username,
    platform: process.platform,
  };
}

export type ServiceKind = "systemd-user" | "systemd-system" | "launchd";

export interface ServiceStep {
  what: string;
  command: string;
}

export interface ServicePlan {
  kind: ServiceKind;
  name: string;
  /** Where the service manager reads the unit from. */
  path: string;
  unit: string;
  /** Only for a system unit: the user it runs as. */
  user?: string;
  /** The commands that load, enable and start it once it is at `path`, in order. */
  steps: ServiceStep[];
  warnings: string[];
}

export interface PlanInput {
  kind: ServiceKind;
  agentId: string;
  configPath: string;
  /** --user: whom a system unit runs as. */
  user?: string;
}

const SYSTEM_UNIT_DIR = "/etc/systemd/system";

export function chooseKind(options: { system?: boolean; launchd?: boolean }, platform: NodeJS.Platform): ServiceKind {
  if (options.launchd) return "launchd";
  if (options.system) return "systemd-system";
  return platform === "darwin" ? "launchd" : "systemd-user";
}

export function planService(input: PlanInput, host: ServiceHost): ServicePlan {
  const spec: ServiceSpec = {
    agentId: input.agentId,
    nodePath: host.nodePath,
    scriptPath: host.scriptPath,
    configPath: input.configPath,
    logDir: join(host.homeDir, "Library", "Logs"),
  };
  const name = serviceName(input.agentId);
  const warnings = host.scriptPath.includes("/_npx/")
    ? ["the CLI runs from npx's cache, which npm may clear; install it first (npm i -g clawrelay) and run this again"]
    : [];
  if (input.user !== undefined && input.kind !== "systemd-system") {
    throw new CliError("--user names the account a system unit runs as; use it with --system");
  }
  if (input.kind === "systemd-user") {
    return {
      kind: input.kind,
      name,
      path: join(host.homeDir, ".config", "systemd", "user", `${name}.service`),
      unit: renderSystemdUnit(spec, { scope: "user" }),
      steps: [
        {
          what: "load the unit, start it now and at every login",
          command: `systemctl --user daemon-reload && systemctl --user enable --now ${name}`,
        },
        { what: "keep it running without a login session, from boot", command: "loginctl enable-linger $USER" },
        { what: "follow its logs", command: `journalctl --user -u ${name} -f` },
      ],
      warnings,
    };
  }
  if (input.kind === "systemd-system") {
    const user = input.user ?? host.invokingUser;
    if (!SYSTEM_USER_PATTERN.test(user)) throw new CliError(`--user ${JSON.stringify(user)} is not a user name`);
    if (input.user === undefined && user === "root") {
      throw new CliError("a system unit would run the connector as root; pass --user <name> (--user root to mean it)");
    }
    return {
      kind: input.kind,
      name,
      path: join(SYSTEM_UNIT_DIR, `${name}.service`),
      unit: renderSystemdUnit(spec, { scope: "system", user }),
      user,
      steps: [
        {
          what: "load the unit, start it now and at every boot",
          command: `sudo systemctl daemon-reload && sudo systemctl enable --now ${name}`,
        },
        { what: "follow its logs", command: `sudo journalctl -u ${name} -f` },
      ],
      warnings,
    };
  }
  const label = launchdLabel(input.agentId);
  const path = join(host.homeDir, "Library", "LaunchAgents", `${label}.plist`);
  return {
    kind: input.kind,
    name,
    path,
    unit: renderLaunchdPlist(spec),
    steps: [
      {
        what: "load it and start it now (and at every login)",
        command: `launchctl bootstrap gui/$(id -u) ${shellWord(path)}`,
      },
      { what: "check it is running", command: `launchctl print gui/$(id -u)/${label}` },
      { what: "follow its logs", command: `tail -f ${shellWord(join(spec.logDir ?? "/tmp", `${name}.log`))}` },
    ],
    warnings,
  };
}

/** When the unit was written elsewhere (--out), the step that puts it where the manager reads it. */
export function copyStep(plan: ServicePlan, writtenTo: string): ServiceStep {
  const what = "put the unit where the service manager reads it";
  if (plan.kind === "launchd") return { what, command: commandLine(["cp", writtenTo, plan.path]) };
  const words = ["install", "-D", "-m", "0644", writtenTo, plan.path];
  return { what, command: commandLine(plan.kind === "systemd-system" ? ["sudo", ...words] : words) };
}

/**
 * The steps when an existing unit was replaced (--force): launchd keeps the job it loaded until
 * it is booted out; systemd keeps running the old command line until a restart.
 */
export function withReplaceSteps(plan: ServicePlan, agentId: string): ServiceStep[] {
  if (plan.kind === "launchd") {
    return [
      { what: "unload the agent it replaces", command: `launchctl bootout gui/$(id -u)/${launchdLabel(agentId)}` },
      ...plan.steps,
    ];
  }
  const systemctl = plan.kind === "systemd-system" ? "sudo systemctl" : "systemctl --user";
  const [first, ...rest] = plan.steps;
  return [
    ...(first ? [first] : []),
    { what: "restart it with the new unit", command: `${systemctl} restart ${plan.name}` },
    ...rest,
  ];
}
