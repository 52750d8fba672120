import type { Command } from "commander";
import { type OpenClawSetupOptions, type OpenClawSetupResult, openclawSetup } from "./openclaw-setup.js";
import { addJsonOption, colours, type OutputOptions, type Palette, printJson, wantsHuman } from "./output.js";

/** What changed and what to run next, for a person at a terminal. */
function summary(result: OpenClawSetupResult, palette: Palette): string {
  const lines = [palette.bold(`clawrelay openclaw setup${result.dryRun ? " (dry run: nothing was written)" : ""}`)];
  for (const [what, file] of [
    ["connector config", result.connector],
    ["OpenClaw config", result.openclaw],
  ] as const) {
    const state = result.dryRun ? "would change" : file.written ? palette.green("written") : "unchanged";
    lines.push(
      `${what} ${file.path}${file.created ? " (new file)" : ""}: ${file.changes.length > 0 ? state : palette.dim("unchanged")}`,
    );
    for (const change of file.changes) lines.push(`  ${change}`);
  }
  if (result.hooksToken === "generated") lines.push("hooks token: a new random one, in both configs");
  for (const note of result.notes) lines.push(`${palette.yellow("note:")} ${note}`);
  lines.push("", palette.bold("Next steps:"), ...result.nextSteps.map((step, i) => `  ${i + 1}. ${step}`));
  return `${lines.join("\n")}\n`;
}

export function registerOpenClawCommands(program: Command): void {
  const openclaw = program.command("openclaw").description("connect the connector and an OpenClaw gateway");
  const setup = openclaw
    .command("setup")
    .description(
      "configure the connector's openclaw hook format, and the gateway's hooks and clawrelay plugin (merged into its JSON config)",
    )
    .requiredOption("--config <file>", "the connector's config file (JSON)")
    .requiredOption("--gateway <url>", "the OpenClaw gateway's base URL, e.g. http://127.0.0.1:18789")
    .requiredOption("--openclaw-config <file>", "the gateway's config file, e.g. ~/.openclaw/openclaw.json")
    .option("--hooks-token <token>", "the gateway's hooks token (default: the one it has, else a new random one)")
    .option(
      "--agent-id <id>",
      "the OpenClaw agent that takes clawrelay messages (default: the gateway's default agent)",
    )
    .option(
      "--plugin-dir <dir>",
      "the clawrelay OpenClaw plugin's folder (default: apps/openclaw-plugin beside the CLI)",
    )
    .option("--dry-run", "print what would change; write nothing")
    .option("--force", "replace values that are already set to something else");
  // On a terminal the summary; for scripts (a pipe, --json) the result as JSON (never a token).
  addJsonOption(setup).action(async (options: OpenClawSetupOptions & OutputOptions) => {
    const result = await openclawSetup(options);
    if (wantsHuman(options)) process.stdout.write(summary(result, colours()));
    else printJson(result);
  });
}
