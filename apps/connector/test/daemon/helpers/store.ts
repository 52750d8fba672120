import { Store, type StoreOptions } from "../../../src/daemon/store.js";
import { tempDir } from "./common.js";

export const TEST_STORE_OPTIONS: StoreOptions = {
  inboxMaxItems: 100,
  outboxMaxItems: 100,
  dedupWindowMs: 7 * 86_400_000,
};

/** A real store in a fresh temp dir; its close and the dir's removal are pushed onto `cleanups`. */
export function openTempStore(
  cleanups: (() => void)[],
  options: Partial<StoreOptions> = {},
): { store: Store; dir: string } {
  const dir = tempDir();
  const store = Store.open(dir.path, { ...TEST_STORE_OPTIONS, ...options });
  cleanups.push(dir.remove);
  cleanups.push(() => store.close());
  return { store, dir: dir.path };
}
