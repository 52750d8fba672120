/** What a service manager needs to run `clawrelay connector start --config <file>`. */
export interface ServiceSpec {
  agentId: string;
  nodePath: string;
  scriptPath: string;
  configPath: string;
  /** launchd only: where stdout/stderr go. */
  logDir?: string;
}

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

/** One ExecStart argument: quoted, with `\`, `"` escaped and `%` doubled (systemd specifiers). */
function systemdArgument(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%")}"`;
}

/**
 * A systemd unit that restarts forever. It waits for the network but is tied to no other
 * service (no Requires=/BindsTo=), so the connector keeps its inbox and outbox working
 * whatever else on the machine is down.
 */
export function renderSystemdUnit(spec: ServiceSpec): string {
  const exec = [spec.nodePath, ...DAEMON_NODE_FLAGS, spec.scriptPath, "connector", "start", "--config", spec.configPath]
    .map(systemdArgument)
    .join(" ");
  return `[Unit]
Description=clawrelay connector for agent ${spec.agentId}
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=${exec}
Restart=always
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=20
NoNewPrivileges=true
PrivateTmp=true
UMask=0077

[Install]
WantedBy=default.target
`;
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
  const label = `com.clawrelay.connector.${spec.agentId}`;
  const args = [spec.nodePath, ...DAEMON_NODE_FLAGS, spec.scriptPath, "connector", "start", "--config", spec.configPath]
    .map((arg) => `    <string>${xml(arg)}</string>`)
    .join("\n");
  const logDir = spec.logDir ?? "/tmp";
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xml(label)}</string>
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
