import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { STORE_FILE_NAME, Store } from "../../src/daemon/store.js";
import { SCHEMA_VERSION } from "../../src/daemon/store-schema.js";
import { messageItem, receiptItem, tempDir } from "./helpers/common.js";
import { TEST_STORE_OPTIONS, tempStores } from "./helpers/store.js";

const NOW = 1_700_000_000_000;
const { open: openStore, cleanups } = tempStores();

function rawDb(dir: string): Database.Database {
  const db = new Database(join(dir, STORE_FILE_NAME));
  cleanups.push(() => db.close());
  return db;
}

describe("store: inbound commits", () => {
  it("stores a batch in one go, returns the ids to ack and remembers the last id", () => {
    const { store } = openStore();
    const items = [messageItem(), receiptItem(), messageItem({ priority: "critical" })];
    const result = store.storeInbound(items, NOW);
    expect(result.ack).toEqual(items.map((item) => item.id));
    expect(result.stored).toHaveLength(3);
    expect(store.counts().inboxPending).toBe(3);
    expect(store.resumeState().lastReceivedId).toBe(items[2]?.id);
    // Lane order then arrival: receipts and critical first.
    const due = store.inbox.due(NOW, 10, new Set());
    expect(due.map((entry) => entry.id)).toEqual([items[1]?.id, items[2]?.id, items[0]?.id]);
  });

  it("acks a repeat within 7 days again without storing it twice", () => {
    const { store } = openStore();
    const item = messageItem();
    store.storeInbound([item], NOW);
    const entry = store.inbox.due(NOW, 1, new Set())[0];
    if (!entry) throw new Error("expected an inbox entry");
    store.inbox.markDelivered(entry, 1, NOW);
    const again = store.storeInbound([item, item], NOW + 6 * 86_400_000);
    expect(again.ack).toEqual([item.id, item.id]);
    expect(again.stored).toEqual([]);
    expect(again.duplicates).toEqual([item.id, item.id]);
    expect(store.counts().inboxPending).toBe(0);
  });

  it("stores an id again once its 7-day dedup window has passed", () => {
    const { store } = openStore();
    const item = messageItem();
    store.storeInbound([item], NOW);
    store.prune(NOW + 8 * 86_400_000);
    const later = store.storeInbound([item], NOW + 8 * 86_400_000);
    expect(later.stored.map((stored) => stored.id)).toEqual([item.id]);
  });

  it("refuses messages past the inbox cap but never receipts", () => {
    const { store } = openStore({ inboxMaxItems: 2 });
    const [a, b, c] = [messageItem(), messageItem(), messageItem()];
    const receipt = receiptItem();
    const result = store.storeInbound([a, b, c, receipt], NOW);
    expect(result.ack).toEqual([a.id, b.id, receipt.id]);
    expect(result.nackInboxFull).toEqual([c.id]);
    // The refused item was not marked seen: a redelivery is stored once there is room.
    const entry = store.inbox.due(NOW, 10, new Set()).find((row) => row.id === a.id);
    if (!entry) throw new Error("expected a");
    store.inbox.markDelivered(entry, 1, NOW);
    expect(store.storeInbound([c], NOW).stored.map((item) => item.id)).toEqual([c.id]);
  });

  it("keeps nothing of a batch whose transaction fails half way (acked-and-stored or neither)", () => {
    const { store, dir } = openStore();
    const before = messageItem();
    store.storeInbound([before], NOW);
    const [a, b, poison] = [messageItem(), messageItem(), messageItem()];
    rawDb(dir).exec(
      `CREATE TRIGGER fail_third BEFORE INSERT ON inbox WHEN NEW.id = '${poison.id}' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`,
    );
    expect(() => store.storeInbound([a, b, poison], NOW)).toThrow(/disk trouble/);
    expect(store.counts().inboxPending).toBe(1);
    expect(store.resumeState().lastReceivedId).toBe(before.id);
    // Not even marked seen: the redelivery is stored, not treated as a duplicate.
    rawDb(dir).exec("DROP TRIGGER fail_third");
    const retry = store.storeInbound([a, b, poison], NOW);
    expect(retry.stored.map((item) => item.id)).toEqual([a.id, b.id, poison.id]);
    expect(retry.duplicates).toEqual([]);
  });

  it("survives the process being killed inside the transaction", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const bundleDir = resolve(
      import.meta.dirname,
      "../../node_modules/.cache",
      `store-crash-${process.pid}-${Date.now()}`,
    );
    mkdirSync(bundleDir, { recursive: true });
    cleanups.push(() => rmSync(bundleDir, { recursive: true, force: true }));
    const entry = join(bundleDir, "child-entry.ts");
    writeFileSync(
      entry,
      `import { Store } from ${JSON.stringify(resolve(import.meta.dirname, "../../src/daemon/store.ts"))};
const [dir, itemsJson] = process.argv.slice(2);
const store = Store.open(dir, ${JSON.stringify(TEST_STORE_OPTIONS)});
// Register on the store's own connection so the trigger below can call it mid-transaction.
store.db.function("crash_now", () => process.kill(process.pid, "SIGKILL"));
store.db.exec("CREATE TEMP TRIGGER crash_on_third BEFORE INSERT ON main.inbox WHEN NEW.id LIKE 'CRASH%' BEGIN SELECT crash_now(); END");
store.storeInbound(JSON.parse(itemsJson), Date.now());
process.exit(0);
`,
    );
    const outfile = join(bundleDir, "child.mjs");
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      external: ["better-sqlite3"],
      outfile,
    });

    const seed = Store.open(dir.path, TEST_STORE_OPTIONS);
    const kept = messageItem();
    seed.storeInbound([kept], NOW);
    seed.close();

    const items = [messageItem(), messageItem(), messageItem({ id: "CRASH-01JCRASH000000000000000" })];
    const child = spawnSync(process.execPath, [outfile, dir.path, JSON.stringify(items)], { encoding: "utf8" });
    expect(child.stderr).toBe("");
    expect(child.signal).toBe("SIGKILL");

    const reopened = Store.open(dir.path, TEST_STORE_OPTIONS);
    cleanups.push(() => reopened.close());
    expect(reopened.counts().inboxPending).toBe(1);
    expect(reopened.resumeState().lastReceivedId).toBe(kept.id);
    const db = rawDb(dir.path);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(db.prepare("SELECT COUNT(*) AS n FROM seen").get()).toEqual({ n: 1 });
    const retry = reopened.storeInbound(items, NOW);
    expect(retry.stored).toHaveLength(3);
  });
});

describe("store: schema and meta", () => {
  it("migrates to the current user_version once and keeps data on reopen", () => {
    const { store, dir } = openStore();
    store.storeInbound([messageItem()], NOW);
    const connectorId = store.connectorId(undefined);
    expect(connectorId).toMatch(/^c-[0-9a-z]{26}$/);
    store.close();
    const again = Store.open(dir, TEST_STORE_OPTIONS);
    cleanups.push(() => again.close());
    expect(rawDb(dir).pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(rawDb(dir).pragma("journal_mode", { simple: true })).toBe("wal");
    expect(statSync(join(dir, STORE_FILE_NAME)).mode & 0o777).toBe(0o600);
    expect(again.connectorId(undefined)).toBe(connectorId);
    expect(again.connectorId("configured-id")).toBe("configured-id");
    expect(again.counts().inboxPending).toBe(1);
  });

  it("keeps the earliest offline moment of an outage and clears it when online", () => {
    const { store } = openStore();
    store.markOffline(NOW);
    store.markOffline(NOW + 5_000);
    expect(store.resumeState().offlineSinceMs).toBe(NOW);
    store.markOnline();
    expect(store.resumeState().offlineSinceMs).toBeNull();
  });
});

describe("store: dead letters and reports", () => {
  it("dead-letters with a pending report, and replays back into the inbox", () => {
    const { store } = openStore();
    const item = messageItem();
    store.storeInbound([item], NOW);
    const entry = store.inbox.due(NOW, 1, new Set())[0];
    if (!entry) throw new Error("expected an entry");
    store.inbox.deadLetter(entry, 3, "retries exhausted: hook_status_500", "dead_lettered", NOW);
    expect(store.counts()).toMatchObject({ inboxPending: 0, deadLetters: 1, pendingReports: 1 });
    expect(store.inbox.pendingReports(10)).toEqual([
      { id: item.id, outcome: "dead_lettered", reason: "retries exhausted: hook_status_500" },
    ]);
    const [dead] = store.inbox.listDeadLetters(10);
    expect(dead).toMatchObject({ id: item.id, attempts: 3, item });
    expect(store.inbox.replayDeadLetters(undefined, NOW + 1)).toEqual([item.id]);
    expect(store.counts()).toMatchObject({ inboxPending: 1, deadLetters: 0 });
    expect(store.inbox.due(NOW + 1, 1, new Set())[0]?.item).toEqual(item);
    expect(store.inbox.replayDeadLetters(["unknown-id"], NOW + 1)).toEqual([]);
  });
});

describe("store: outbox", () => {
  const base = { toRelay: null, body: '{"payload":1}', expiresAt: NOW + 3_600_000 };

  it("dedupes on (to, idempotencyKey), drains critical, normal, low then age, and recovers after a crash", () => {
    const { store } = openStore();
    const put = (outboundId: string, priority: "critical" | "normal" | "low", key = `ob-${outboundId}`) =>
      store.outbox.enqueue(
        { ...base, outboundId, to: "carol-agent", priority, idempotencyKey: key, correlationId: `corr-${outboundId}` },
        NOW,
      );
    put("01A", "low");
    put("01B", "normal");
    put("01C", "critical");
    put("01D", "normal");
    const repeat = put("01E", "critical", "ob-01B");
    expect(repeat).toMatchObject({ ok: true, duplicate: true, record: { outboundId: "01B" } });
    // 01D waits behind 01B, the head of carol's normal stream.
    expect(store.outbox.due(NOW, 10).map((record) => record.outboundId)).toEqual(["01C", "01B", "01A"]);
    store.outbox.markSending("01C", NOW);
    store.outbox.reschedule(store.outbox.get("01B") ?? (undefined as never), 1, NOW + 60_000, "unavailable", NOW);
    expect(store.outbox.due(NOW, 10).map((record) => record.outboundId)).toEqual(["01A"]);
    store.outbox.recover(NOW + 1);
    expect(store.outbox.get("01C")?.state).toBe("queued");
    expect(store.outbox.due(NOW + 1, 10).map((record) => record.outboundId)).toEqual(["01C", "01B", "01A"]);
  });

  it("refuses new messages when the outbox is full", () => {
    const { store } = openStore({ outboxMaxItems: 1 });
    const message = { ...base, to: "carol-agent", priority: "normal" as const, correlationId: "corr-00000001" };
    expect(store.outbox.enqueue({ ...message, outboundId: "01A", idempotencyKey: "key-000001" }, NOW).ok).toBe(true);
    expect(store.outbox.enqueue({ ...message, outboundId: "01B", idempotencyKey: "key-000002" }, NOW)).toEqual({
      ok: false,
      reason: "outbox_full",
    });
  });
});
