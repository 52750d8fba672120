import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { CLI } from "../../../../../scripts/lib/relay.mjs";
import { commandLine } from "../../../src/cli/output.js";
import type { CliRun } from "./run-cli.js";

/** util-linux `script` gives the CLI a pseudo-terminal, so its stdout.isTTY is true as in a shell. */
export function hasScript(): boolean {
  return spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;
}

/** The environment a CLI run sees: the caller's, without CLAWRELAY_* (the machine's setup stays out). */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("CLAWRELAY_")));
  return { ...clean, TERM: "xterm", ...env };
}

/**
 * Start `clawrelay <args>` on a pseudo-terminal. stdout and stderr share the terminal, so the
 * output is both, with the terminal's \r\n turned back into \n.
 */
export function spawnInPty(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn("script", ["-qfec", commandLine([process.execPath, CLI, ...args]), "/dev/null"], {
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Run `clawrelay <args>` on a pseudo-terminal to the end; `code` is the CLI's own exit status. */
export function runInPty(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawnInPty(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.replaceAll("\r\n", "\n"), stderr });
    });
  });
}
