/** Exit codes of the CLI: 0 success, 1 the remote side said no (or could not be reached), 2 usage and local files. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * An error meant for the person at the terminal: its message is printed as `clawrelay: <message>`
 * (never a stack) and the process exits with `exitCode`.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
