import type { Command } from "commander";

/** `clawrelay relay init`: the secrets and vars a deployed relay needs (issue 16). */
export function registerRelayCommands(_program: Command): void {}
