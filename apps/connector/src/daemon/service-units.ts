/** What a service manager needs to run `clawrelay connector start --config <file>`. */
export interface ServiceSpec {
  agentId: string;
  /** The node binary that runs the CLI now (process.execPath). */
  nodePath: string;
  /** The real path of the installed CLI script, not a symlink a later install could repoint. */
  scriptPath: string;
  configPath: string;
  /** launchd only: where stdout/stderr go. */
  logDir?: string;
}

/**
 * Which systemd manager runs the unit. A user unit runs in the user's own manager (no root, no
 * User=, started at login or at boot with lingering); a system unit runs as `user` under PID 1.
 */
export type SystemdScope = { scope: "user" } | { scope: "system"; user: string };

/**
 * V8 heap limits the daemon runs with. Node sizes its heap for the machine (gigabytes) and grows
 * it lazily, so a daemon churning through hook calls sat near 200 MB resident although its live
 * data is a few MB (everything durable is in SQLite). With these it stays under 150 MB with
 * 100,000 items in its inbox, at the same throughput (see BENCHMARKS.md).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ["--max-old-space-size=96", "--max-semi-space-size=4"];

export function serviceName(agentId: string): string {
  return `clawrelay-connector-${agentId}`;
}

export function launchdLabel(agentId: string): string {
  return `com.clawrelay.connector.${agentId}`;
}

/** A system user name as useradd accepts it: nothing that could end the `User=` line early. */
export const SYSTEM_USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}\$?$/i;

/** The command line, refusing what no unit format can carry on one line. */
function programArguments(spec: ServiceSpec): string[] {
  const args = [
    spec.nodePath,
    ...DAEMON_NODE_FLAGS,
    spec.scriptPath,
    "connector",
    "start",
    "--config",
    spec.configPath,
  ];
  for (const arg of args) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    if (/[\u0000-\u001f\u007f]/.test(arg)) throw new Error(`a path in the service command has a control character`);
  }
  return args;
}

/** One ExecStart argument: quoted, with `\`, `"` escaped and `%` doubled (systemd specifiers). */
function systemdArgument(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%")}"`;
}

/**
 * A systemd unit that restarts forever, tied to no other service (no Requires=/BindsTo=), so the
 * connector keeps its inbox and outbox working whatever else on the machine is down. Only a system
 * unit waits for network-online.target: a user manager has no such target (nothing would ever
 * start it), and the connector retries its relay link anyway. PrivateTmp= is left out of user
 * units, where it needs unprivileged user namespaces and fails the start without them.
 */
export function renderSystemdUnit(spec: ServiceSpec, target: SystemdScope): string {
  const exec = programArguments(spec).map(systemdArgument).join(" ");
  const system = target.scope === "system";
  if (system && !SYSTEM_USER_PATTERN.test(target.user)) throw new Error("the unit's User= is not a valid user name");
  const unit = [
    "[Unit]",
    `Description=clawrelay connector for agent ${spec.agentId}`,
    ...(system ? ["Wants=network-online.target", "After=network-online.target"] : []),
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    "Type=simple",
    ...(system ? [`User=${target.user}`] : []),
    `ExecStart=${exec}`,
    "Restart=always",
    "RestartSec=2",
    "KillSignal=SIGTERM",
    "TimeoutStopSec=20",
    "NoNewPrivileges=true",
    ...(system ? ["PrivateTmp=true"] : []),
    "UMask=0077",
    "",
    "[Install]",
    `WantedBy=${system ? "multi-user.target" : "default.target"}`,
    "",
  ];
  return unit.join("\n");
}

function xml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** A launchd agent plist with KeepAlive, so launchd restarts the connector whenever it exits. */
export function renderLaunchdPlist(spec: ServiceSpec): string {
  const args = programArguments(spec)
    .map((arg) => `    <string>${xml(arg)}</string>`)
    .join("\n");
  const logDir = spec.logDir ?? "/tmp";
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xml(launchdLabel(spec.agentId))}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>ExitTimeOut</key>
  <integer>20</integer>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>${xml(`${logDir}/${serviceName(spec.agentId)}.log`)}</string>
  <key>StandardErrorPath</key>
  <string>${xml(`${logDir}/${serviceName(spec.agentId)}.err.log`)}</string>
</dict>
</plist>
`;
}
