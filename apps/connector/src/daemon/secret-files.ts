import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";

/**
 * Files holding a secret (the agent's and the registry's private keys, the API token, a config
 * with a hookSecret) are refused when their mode grants anything to group or others, the way ssh
 * refuses a private key: a key another local user could have read is not private any more, and
 * quietly tightening the mode would hide that it may already have leaked.
 */
export class LoosePermissionsError extends Error {
  readonly code = "loose_permissions";
  constructor(
    readonly path: string,
    readonly mode: number,
    what: string,
  ) {
    super(
      `${path} holds ${what} and is open to other users (mode ${mode.toString(8).padStart(4, "0")}); ` +
        `make it private with: chmod 600 ${path}`,
    );
    this.name = "LoosePermissionsError";
  }
}

/** Group and other permission bits. */
const NOT_OWNER = 0o077;

/** Throws LoosePermissionsError when `mode` (of the file at `path`) grants group or others anything. */
export function assertPrivateMode(path: string, mode: number, what: string): void {
  // Windows has no POSIX modes (Node reports 0o666 for every writable file): ACLs guard it there.
  if (process.platform === "win32") return;
  if ((mode & NOT_OWNER) !== 0) throw new LoosePermissionsError(path, mode & 0o7777, what);
}

/**
 * Reads a secret file after checking the mode of the very file opened (not a path that could be
 * swapped between the check and the read). Errors from opening it (ENOENT, EACCES) pass through.
 */
export function readPrivateFileSync(path: string, what: string): Buffer {
  const fd = openSync(path, "r");
  try {
    assertPrivateMode(path, fstatSync(fd).mode, what);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
