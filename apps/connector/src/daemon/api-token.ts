import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LoosePermissionsError, readPrivateFileSync } from "./secret-files.js";

/** Where the connector keeps the loopback API's bearer token (PROTOCOL.md §8), beside its store. */
export const API_TOKEN_FILE_NAME = "api-token";
/** 32 random bytes, base64url: 43 characters. */
const TOKEN_BYTES = 32;
const TOKEN_FILE_PATTERN = /^[\x21-\x7e]{16,512}$/;

export class ApiTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiTokenError";
  }
}

/**
 * The token in `<dataDir>/api-token`, or undefined when there is no such file. Never logs it.
 * Whoever can read it can send as this agent: a file open to other users is refused
 * (LoosePermissionsError), by the daemon and the CLI alike.
 */
export function readApiToken(dataDir: string): string | undefined {
  const path = join(dataDir, API_TOKEN_FILE_NAME);
  let text: string;
  try {
    text = readPrivateFileSync(path, "the connector's API token").toString("utf8");
  } catch (error) {
    if (error instanceof LoosePermissionsError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ApiTokenError(`${path}: cannot read the API token (${(error as NodeJS.ErrnoException).code})`);
  }
  const token = text.trim();
  if (!TOKEN_FILE_PATTERN.test(token)) {
    throw new ApiTokenError(`${path} does not hold an API token; delete it and restart the connector to make one`);
  }
  return token;
}

/**
 * The configured token, else the one kept in `<dataDir>/api-token`, else a new one written there
 * (mode 0600, through a temp file and a rename, so a crash never leaves half a token behind).
 */
export function loadOrCreateApiToken(dataDir: string, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const existing = readApiToken(dataDir);
  if (existing !== undefined) return existing;
  const path = join(dataDir, API_TOKEN_FILE_NAME);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(TOKEN_BYTES).toString("base64url");
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600, flag: "wx" });
  renameSync(temp, path);
  return token;
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * `Authorization: Bearer <token>` against the API token, in constant time (both sides hashed
 * first, so neither the content nor the length of the token leaks through timing).
 */
export function checkBearer(header: string | undefined, token: string): "ok" | "missing" | "invalid" {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  if (match === null) return "missing";
  return timingSafeEqual(digest(match[1] as string), digest(token)) ? "ok" : "invalid";
}
