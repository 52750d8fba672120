import { spawn } from "node:child_process";
import { afterEach, expect } from "vitest";
import { CLI, ensureCliBuilt } from "../../../../../scripts/lib/relay.mjs";
import { tempDir } from "../../daemon/helpers/common.js";

/** Each run is a fresh Node process (a few hundred ms, more on a busy 2-core machine). */
export const CLI_TEST_TIMEOUT_MS = 60_000;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The built CLI must exist; the root test script builds it first, a lone run builds it here once. */
export function cliBuilt(): void {
  ensureCliBuilt();
}

/**
 * Run the built `clawrelay` as a real process (async, so a server in this process can answer
 * it). The caller's CLAWRELAY_* variables are dropped so the machine's setup cannot leak in.
 */
export function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliRun> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("CLAWRELAY_")));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...clean, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** An error run prints one `clawrelay: …` line: no stack frames, none of the given secrets. */
export function expectCleanFailure(run: CliRun, secrets: readonly string[] = []): void {
  expect(run.stderr).toMatch(/^clawrelay: .+\n$/);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  for (const secret of secrets) {
    expect(run.stderr).not.toContain(secret);
    expect(run.stdout).not.toContain(secret);
  }
}

/** A maker of fresh temp dirs for the calling test file; each is removed after the test that made it. */
export function scratchDirs(): () => string {
  const removals: (() => void)[] = [];
  afterEach(() => {
    for (const remove of removals.splice(0).reverse()) remove();
  });
  return () => {
    const dir = tempDir();
    removals.push(dir.remove);
    return dir.path;
  };
}
