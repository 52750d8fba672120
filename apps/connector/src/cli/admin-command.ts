import type { Command } from "commander";

/** `clawrelay admin register|revoke|status`: the relay's admin routes (issue 16). */
export function registerAdminCommands(_program: Command): void {}
