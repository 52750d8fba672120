import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { z } from "zod";
import { assertPrivateMode, LoosePermissionsError } from "../daemon/secret-files.js";
import { CliError } from "./errors.js";

/** What to tell the user when a file is missing: the command that creates it. */
export interface FileHint {
  what: string;
  createdBy: string;
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}

export async function readBytes(path: string, hint: FileHint): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT") throw new CliError(`${hint.what} not found: ${path} (create it with: ${hint.createdBy})`);
    if (code === "EACCES" || code === "EPERM") throw new CliError(`cannot read ${path}: permission denied`);
    if (code === "EISDIR") throw new CliError(`${path} is a directory, expected the ${hint.what} file`);
    throw new CliError(`cannot read ${path}: ${code ?? "unknown error"}`);
  }
}

export async function readText(path: string, hint: FileHint): Promise<string> {
  return (await readBytes(path, hint)).toString("utf8");
}

/**
 * Like readText, for a file holding a secret (a private key): refused when its mode grants group
 * or others anything, checked on the file opened (see daemon/secret-files.ts).
 */
export async function readPrivateText(path: string, hint: FileHint): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch {
    // Missing, unreadable, a directory: readBytes words each case.
    return (await readBytes(path, hint)).toString("utf8");
  }
  try {
    assertPrivateMode(path, (await handle.stat()).mode, `the ${hint.what}`);
    return (await handle.readFile()).toString("utf8");
  } catch (error) {
    if (error instanceof LoosePermissionsError) throw new CliError(error.message);
  } finally {
    await handle.close();
  }
  // Opened but not readable as a file (a directory): readBytes words it.
  return (await readBytes(path, hint)).toString("utf8");
}

/**
 * Parses JSON without echoing the text: V8's SyntaxError quotes a slice of the input, and the
 * input may be a private key. Only the position is kept.
 */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : "")?.[1];
    throw new CliError(`${where} is not valid JSON${position === undefined ? "" : ` (at position ${position})`}`);
  }
}

/** Zod issues as "path: message" lines; zod's messages name the rule, not the value. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
}

export async function readJson<T>(path: string, schema: z.ZodType<T>, hint: FileHint): Promise<T> {
  const raw = parseJsonText(await readText(path, hint), path);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new CliError(`${path} is not a valid ${hint.what}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return false;
    throw new CliError(`cannot check ${path}: ${errnoCode(error) ?? "unknown error"}`);
  }
}

export async function ensureDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new CliError(`cannot create directory ${path}: ${errnoCode(error) ?? "unknown error"}`);
  }
}

/**
 * Writes through a temporary file and a rename, so a reader never sees half a key and an
 * overwritten file gets `mode` (writeFile's mode only applies when it creates the file).
 */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, data, { mode, flag: "wx" });
    await chmod(temporary, mode);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`cannot write ${path} in ${dirname(path)}: ${errnoCode(error) ?? "unknown error"}`);
  }
}

export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
