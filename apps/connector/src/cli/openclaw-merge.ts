import { isDeepStrictEqual } from "node:util";
import { CliError } from "./errors.js";

/** A JSON object as read from a config file. */
export type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function show(value: unknown, secret: boolean): string {
  return secret ? "(secret)" : JSON.stringify(value);
}

/**
 * Merges what `clawrelay openclaw setup` needs into a config object, in place, and records each
 * change. A key that already holds a different value is a conflict: setup did not write it (a
 * rerun writes the same values, so a rerun has none) and replaces it only with `force`. Neither
 * config may carry a marker of ours (both are validated strictly), so "ours" is "equal to what
 * setup would write now".
 */
export class ConfigMerge {
  readonly changes: string[] = [];
  readonly conflicts: string[] = [];

  constructor(
    /** The file's name in messages, e.g. "openclaw.json". */
    readonly file: string,
    readonly force: boolean,
  ) {}

  /** The object at `key` (made when absent); a non-object there cannot be merged into. */
  object(parent: JsonObject, key: string, label: string): JsonObject {
    const value = parent[key];
    if (value === undefined) {
      const made: JsonObject = {};
      parent[key] = made;
      return made;
    }
    if (!isObject(value)) throw new CliError(`${this.file}: ${label} is not an object; fix it by hand first`);
    return value;
  }

  /** Set `parent[key]`; a different value already there is a conflict (replaced with force). */
  set(parent: JsonObject, key: string, value: unknown, label: string, options: { secret?: boolean } = {}): void {
    const current = parent[key];
    if (isDeepStrictEqual(current, value)) return;
    const shown = show(value, options.secret ?? false);
    if (current === undefined) {
      parent[key] = value;
      this.changes.push(`${label} = ${shown}`);
      return;
    }
    if (!this.force) {
      this.conflicts.push(
        options.secret
          ? `${this.file}: ${label} already holds another secret`
          : `${this.file}: ${label} is already ${show(current, false)} (setup would write ${shown})`,
      );
      return;
    }
    parent[key] = value;
    this.changes.push(`${label} = ${shown} (replaced, --force)`);
  }

  /** Set `parent[key]` whatever it held: a switch that is the very point of setup (e.g. the hook format). */
  switch(parent: JsonObject, key: string, value: unknown, label: string): void {
    if (isDeepStrictEqual(parent[key], value)) return;
    const was = parent[key] === undefined ? "" : ` (was ${show(parent[key], false)})`;
    parent[key] = value;
    this.changes.push(`${label} = ${show(value, false)}${was}`);
  }

  /** Add `item` to the list at `parent[key]` (made when absent) unless `present` finds it there. */
  add(
    parent: JsonObject,
    key: string,
    item: string,
    label: string,
    present: (entry: unknown) => boolean = (e) => e === item,
  ): void {
    const current = parent[key];
    if (current !== undefined && !Array.isArray(current)) {
      throw new CliError(`${this.file}: ${label} is not a list; fix it by hand first`);
    }
    const list = current ?? [];
    if (list.some(present)) return;
    parent[key] = [...list, item];
    this.changes.push(`${label} += ${JSON.stringify(item)}`);
  }

  /** Leave `parent[key]` out: one already there is a conflict (removed with force). */
  unset(parent: JsonObject, key: string, label: string): void {
    if (parent[key] === undefined) return;
    if (!this.force) {
      this.conflicts.push(`${this.file}: ${label} is set, and setup would leave it out`);
      return;
    }
    delete parent[key];
    this.changes.push(`${label} removed (--force)`);
  }

  /** Remove `item` from the list at `parent[key]`: a conflict (done with force). */
  remove(parent: JsonObject, key: string, item: string, label: string): void {
    const current = parent[key];
    if (!Array.isArray(current) || !current.includes(item)) return;
    if (!this.force) {
      this.conflicts.push(`${this.file}: ${label} lists ${JSON.stringify(item)}`);
      return;
    }
    parent[key] = current.filter((entry) => entry !== item);
    this.changes.push(`${label} -= ${JSON.stringify(item)} (--force)`);
  }
}

/** Parse a config file's text as plain JSON (an empty file is an empty object); JSON5 is refused. */
export function parsePlainJsonObject(text: string, path: string, json5Hint: string): JsonObject {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not plain JSON (comments, trailing commas or unquoted keys?); ${json5Hint}`);
  }
  if (!isObject(parsed)) throw new CliError(`${path} does not hold a JSON object`);
  return parsed;
}
