import { readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../src");
/** The migrations create and reshape every table: the one file outside the ownership rule. */
const SCHEMA = join(SRC, "daemon/store-schema.ts");

/**
 * Each table's owner: the module `store-<owner>.ts` with its parts `store-<owner>-*.ts`. Only the
 * owner's SQL names the table; anything else asks the owner.
 */
const OWNERS: Record<string, string> = {
  meta: "meta",
  inbox: "inbox",
  seen: "inbox",
  outbox: "outbox",
  outbox_streams: "outbox",
  dead_letters: "dead-letters",
  pending_reports: "reports",
  receipts: "receipts",
  received: "received",
  trace: "trace",
};

const ownedBy = (file: string, owner: string) =>
  basename(file) === `store-${owner}.ts` || basename(file).startsWith(`store-${owner}-`);

/** The tables a source's SQL reads or writes (SQL keywords are upper case in this code base). */
function tablesIn(source: string): Set<string> {
  return new Set([...source.matchAll(/\b(?:FROM|INTO|UPDATE|JOIN)\s+([a-z_]+)\b/g)].map((match) => match[1] as string));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("store table ownership", () => {
  it("gives every table the migrations create an owner", () => {
    const created = [...readFileSync(SCHEMA, "utf8").matchAll(/CREATE TABLE ([a-z_]+)/g)].map((match) => match[1]);
    expect(created.sort()).toEqual(Object.keys(OWNERS).sort());
  });

  it("sees the tables in SQL, however the statement is laid out", () => {
    const sql = `INSERT INTO trace (hop) SELECT x FROM outbox_streams
      JOIN outbox ON 1; UPDATE meta SET; DELETE FROM  seen`;
    expect([...tablesIn(sql)].sort()).toEqual(["meta", "outbox", "outbox_streams", "seen", "trace"]);
    expect([...tablesIn("messages from the relay, into the inbox")]).toEqual([]);
  });

  it("lets only a table's owner module name it in SQL", () => {
    const strays: string[] = [];
    const users = new Map<string, string[]>();
    for (const file of sourceFiles(SRC)) {
      if (file === SCHEMA) continue;
      for (const table of tablesIn(readFileSync(file, "utf8"))) {
        const owner = OWNERS[table];
        if (owner === undefined) continue;
        users.set(table, [...(users.get(table) ?? []), basename(file)]);
        if (!ownedBy(file, owner)) strays.push(`${table} in ${basename(file)} (owner: store-${owner})`);
      }
    }
    expect(strays).toEqual([]);
    // Every owner does use its tables: the scan is looking in the right place.
    for (const table of Object.keys(OWNERS)) expect(users.get(table), table).toBeDefined();
  });
});
