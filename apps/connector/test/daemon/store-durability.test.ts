import type Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { Store } from "../../src/daemon/store.js";
import { messageItem, tempDir } from "./helpers/common.js";

const NOW = 1_700_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function openStore(): Store {
  const dir = tempDir();
  const store = Store.open(dir.path, { inboxMaxItems: 100, outboxMaxItems: 100, dedupWindowMs: 86_400_000 });
  cleanups.push(dir.remove);
  cleanups.push(() => store.close());
  return store;
}

/** SQLite's synchronous level on the store's connection: 2 is FULL, 1 is NORMAL. */
function synchronous(store: Store): unknown {
  // The level is connection state with no product accessor; the test reads it from the handle.
  return (store as unknown as { db: Database.Database }).db.pragma("synchronous", { simple: true });
}

describe("store: durability levels", () => {
  it("commits lazily only inside lazily(), and is back to FULL after it, even when the work throws", () => {
    const store = openStore();
    expect(synchronous(store)).toBe(2);
    let inside: unknown = null;
    store.lazily(() => {
      inside = synchronous(store);
    });
    expect(inside).toBe(1);
    expect(synchronous(store)).toBe(2);
    expect(() =>
      store.lazily(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(synchronous(store)).toBe(2);
  });

  it("batch() commits all or nothing, and lazily() inside an open transaction leaves the level alone", () => {
    const store = openStore();
    const [a, b] = [messageItem(), messageItem()];
    expect(() =>
      store.batch(() => {
        store.inbox.insertItem(a, NOW);
        store.lazily(() => expect(synchronous(store)).toBe(2));
        store.inbox.insertItem(b, NOW);
        throw new Error("rolled back");
      }),
    ).toThrow("rolled back");
    expect(store.counts().inboxPending).toBe(0);
    store.batch(() => {
      store.inbox.insertItem(a, NOW);
      store.inbox.insertItem(b, NOW);
    });
    expect(store.counts().inboxPending).toBe(2);
  });
});
