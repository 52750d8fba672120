import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach } from "vitest";
import { STORE_FILE_NAME, Store, type StoreOptions } from "../../../src/daemon/store.js";
import { migrate } from "../../../src/daemon/store-schema.js";
import { tempDir } from "./common.js";

export const TEST_STORE_OPTIONS: StoreOptions = {
  inboxMaxItems: 100,
  outboxMaxItems: 100,
  dedupWindowMs: 7 * 86_400_000,
};

/**
 * Real stores in fresh temp dirs for one test file. `open` makes one; `cleanups` takes anything
 * else a test opens (raw SQLite handles, reopened stores). All of it is closed and removed after
 * each test, last opened first.
 */
export function tempStores(defaults: Partial<StoreOptions> = {}) {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  });
  const open = (options: Partial<StoreOptions> = {}): { store: Store; dir: string } => {
    const dir = tempDir();
    const store = Store.open(dir.path, { ...TEST_STORE_OPTIONS, ...defaults, ...options });
    cleanups.push(dir.remove);
    cleanups.push(() => store.close());
    return { store, dir: dir.path };
  };
  /**
   * A store file as an older connector left it: only the first `version` migrations applied,
   * then `seed` writes rows in that version's schema. Returns its directory, for `open`ing later.
   */
  const atVersion = (version: number, seed: (db: Database.Database) => void): string => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const db = new Database(join(dir.path, STORE_FILE_NAME));
    try {
      migrate(db, version);
      seed(db);
    } finally {
      db.close();
    }
    return dir.path;
  };
  return { open, atVersion, cleanups };
}
