import { writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { loadConnectorConfig } from "../daemon/config.js";
import { renderLaunchdPlist, renderSystemdUnit, serviceName } from "../daemon/service-units.js";
import { action } from "./command-kit.js";

/** `clawrelay service install`: a unit that keeps the connector running. */
export function registerServiceCommand(program: Command): void {
  const service = program.command("service").description("run the connector under a service manager");
  service
    .command("install")
    .description("write a systemd unit or launchd plist that keeps the connector running")
    .requiredOption("--config <file>", "connector config file (JSON)")
    .addOption(new Option("--systemd", "a systemd unit").conflicts("launchd"))
    .addOption(new Option("--launchd", "a launchd agent plist").conflicts("systemd"))
    .option("--out <file>", "write the unit here (default: print it)")
    .action(
      action(async (options: { config: string; systemd?: boolean; launchd?: boolean; out?: string }) => {
        if (!options.systemd && !options.launchd) throw new Error("choose --systemd or --launchd");
        const configPath = resolve(options.config);
        const config = await loadConnectorConfig(configPath);
        const spec = {
          agentId: config.agentId,
          nodePath: process.execPath,
          scriptPath: resolve(process.argv[1] ?? "clawrelay.mjs"),
          configPath,
          logDir: join(homedir(), "Library", "Logs"),
        };
        const text = options.systemd ? renderSystemdUnit(spec) : renderLaunchdPlist(spec);
        if (!options.out) {
          process.stdout.write(text);
          return;
        }
        const out = resolve(options.out);
        await writeFile(out, text, { mode: 0o644 });
        const name = serviceName(config.agentId);
        const hint = options.systemd
          ? `copy to ~/.config/systemd/user/${name}.service, then: systemctl --user daemon-reload && systemctl --user enable --now ${name}`
          : `copy to ~/Library/LaunchAgents/com.clawrelay.connector.${config.agentId}.plist, then: launchctl load -w <that file>`;
        process.stderr.write(`wrote ${out}\n${hint}\n`);
      }),
    );
}
