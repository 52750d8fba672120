import { afterEach } from "vitest";
import { Store, type StoreOptions } from "../../../src/daemon/store.js";
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
  return { open, cleanups };
}
