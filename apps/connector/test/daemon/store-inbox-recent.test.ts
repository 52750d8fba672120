import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { Store } from "../../src/daemon/store.js";
import { messageItem } from "./helpers/common.js";
import { TEST_STORE_OPTIONS, tempStores } from "./helpers/store.js";

const NOW = 1_700_000_000_000;
const stores = tempStores();

function reopen(dir: string): Store {
  const store = Store.open(dir, TEST_STORE_OPTIONS);
  stores.cleanups.push(() => store.close());
  return store;
}

describe("inbox: items taken in by this process are not parsed again (issue 18)", () => {
  it("a pick hands over the very item the frame's parse made; another process parses the row with the schema", () => {
    const { store, dir } = stores.open();
    const a = messageItem();
    store.storeInbound([a], NOW);
    const [first] = store.inbox.due(NOW, 1, new Set());
    expect(first?.item).toBe(a);
    store.close();
    const again = reopen(dir);
    // Still pending (picked, never finished): the new process reads it from its row.
    const [fromRow] = again.inbox.due(NOW, 1, new Set());
    expect(fromRow?.item).not.toBe(a);
    expect(fromRow?.item).toEqual(a);
  });

  it("a row this process did not write from a parsed item still has to fit the schema", () => {
    const { store, dir } = stores.open();
    const item = messageItem();
    store.storeInbound([item], NOW);
    store.close();
    const raw = new Database(`${dir}/connector.sqlite`);
    raw.prepare("UPDATE inbox SET json = ? WHERE id = ?").run(JSON.stringify({ ...item, priority: "urgent" }), item.id);
    raw.close();
    expect(reopen(dir).inbox.due(NOW, 1, new Set())[0]?.item).toBeUndefined();
  });

  it("a replayed dead letter, and an id taken in again, come from their rows as now written", () => {
    const { store } = stores.open({ dedupWindowMs: 1_000 });
    const item = messageItem();
    store.storeInbound([item], NOW);
    const entry = store.inbox.due(NOW, 1, new Set())[0];
    if (!entry) throw new Error("expected an entry");
    store.inbox.deadLetter(entry, 1, "hook_status_400", "failed", NOW);
    store.inbox.replayDeadLetters([item.id], NOW + 1);
    const replayed = store.inbox.due(NOW + 1, 1, new Set())[0]?.item;
    expect(replayed).toEqual(item);
    expect(replayed).not.toBe(item);
    // Past the dedup window the same id is a new arrival: the new item, not the one kept before.
    const later = { ...item, payload: { text: "again" } };
    store.storeInbound([later], NOW + 5_000);
    expect(store.inbox.due(NOW + 5_000, 1, new Set())[0]?.item).toBe(later);
  });
});
