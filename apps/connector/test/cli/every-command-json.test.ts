import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerAdminCommands } from "../../src/cli/admin-command.js";
import { registerConnectorCommands } from "../../src/cli/connector-commands.js";
import { registerIdentityCommands } from "../../src/cli/identity-commands.js";
import { registerOpenClawCommands } from "../../src/cli/openclaw-command.js";
import { registerRelayCommands } from "../../src/cli/relay-command.js";
import { registerRequestCommand } from "../../src/cli/request-command.js";
import { registerTraceCommand } from "../../src/cli/trace-command.js";

// Every command a person can run also has --json for scripts: a new command without it fails here.

/** What main.ts registers, by the name it calls: the test's program is built the same way. */
const REGISTER: Record<string, (program: Command) => void> = {
  registerIdentityCommands,
  registerRequestCommand: (program) => registerRequestCommand(program, () => "/nonexistent"),
  registerConnectorCommands,
  registerTraceCommand: (program) => registerTraceCommand(program, () => "/nonexistent"),
  registerOpenClawCommands,
  registerAdminCommands,
  registerRelayCommands,
};

/** Commands that need no --json: commander's own help. */
const EXEMPT = new Set(["help"]);

function leaves(command: Command, path: string[] = []): { path: string; command: Command }[] {
  if (command.commands.length === 0) return [{ path: path.join(" "), command }];
  return command.commands.flatMap((sub) => leaves(sub, [...path, sub.name()]));
}

describe("--json on every command", () => {
  it("main.ts registers exactly the commands this test walks", () => {
    const main = readFileSync(fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url)), "utf8");
    const called = [...main.matchAll(/^(register\w+)\(program\b/gm)].map((match) => match[1]);
    expect(called.sort()).toEqual(Object.keys(REGISTER).sort());
  });

  it("every leaf command has a --json option", () => {
    const program = new Command("clawrelay");
    for (const register of Object.values(REGISTER)) register(program);
    const all = leaves(program).filter((leaf) => !EXEMPT.has(leaf.path));
    expect(all.length).toBeGreaterThan(15);
    const without = all
      .filter((leaf) => !leaf.command.options.some((option) => option.long === "--json"))
      .map((leaf) => leaf.path);
    expect(without).toEqual([]);
  });
});
