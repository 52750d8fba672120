import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Store } from "../../src/daemon/store.js";
import type { InboxEntry, InboxOutcome } from "../../src/daemon/store-inbox.js";
import { InboxOutcomes } from "../../src/daemon/store-inbox-outcomes.js";
import { MAX_WAITING_OUTCOMES } from "../../src/daemon/store-inbox-waiting.js";
import { messageItem } from "./helpers/common.js";
import { tempStores } from "./helpers/store.js";

const NOW = 1_700_000_000_000;
const stores = tempStores();
afterEach(() => {
  vi.restoreAllMocks();
});

/** A second connection on the store's file: what is committed, read without the store committing first. */
function committed(store: Store) {
  const raw = new Database(store.path, { readonly: true });
  stores.cleanups.push(() => raw.close());
  return {
    pending: () => raw.prepare("SELECT id FROM inbox WHERE state = 'pending' ORDER BY rowid").pluck().all(),
    reports: () => raw.prepare("SELECT id FROM pending_reports ORDER BY created_at").pluck().all(),
    nextAttemptAt: (id: string) => raw.prepare("SELECT next_attempt_at FROM inbox WHERE id = ?").pluck().get(id),
  };
}

function picked(store: Store, count: number): InboxEntry[] {
  const items = Array.from({ length: count }, () => messageItem());
  store.storeInbound(items, NOW);
  return store.inbox.due(NOW, count, new Set());
}

const delivered = (entry: InboxEntry): InboxOutcome => ({ kind: "delivered", entry, attempts: 1, now: NOW });
const noFailure = () => {
  throw new Error("no commit should fail here");
};

describe("hook outcomes committed together (issue 18)", () => {
  it("wait uncommitted and skipped by the pick, then go in one commit when the reports are read", () => {
    const { store } = stores.open();
    const db = committed(store);
    const entries = picked(store, 3);
    const settle = vi.spyOn(InboxOutcomes.prototype, "settle");
    for (const entry of entries) store.inbox.settleSoon(delivered(entry), noFailure);
    expect(db.pending()).toEqual(entries.map((entry) => entry.id));
    expect(store.inbox.waitingIds()).toEqual(entries.map((entry) => entry.id));
    // In hand: a pick passes them, as it passes the calls in flight.
    expect(store.inbox.due(NOW, 10, new Set())).toEqual([]);
    expect(settle).not.toHaveBeenCalled();
    // No report is read before its outcome is committed: reading commits them first, all at once.
    expect(store.inbox.pendingReports(10).map((report) => report.id)).toEqual(entries.map((entry) => entry.id));
    expect(settle).toHaveBeenCalledTimes(1);
    expect(db.pending()).toEqual([]);
    expect(db.reports()).toEqual(entries.map((entry) => entry.id));
  });

  it("a retry is committed at once with what waited before it (until its new time is written, a pick would pass it)", () => {
    const { store } = stores.open();
    const db = committed(store);
    const [done, failing] = picked(store, 2) as [InboxEntry, InboxEntry];
    const settle = vi.spyOn(InboxOutcomes.prototype, "settle");
    store.inbox.settleSoon(delivered(done), noFailure);
    const retry: InboxOutcome = {
      kind: "retry",
      entry: failing,
      attempts: 1,
      nextAttemptAt: NOW + 5_000,
      error: "x",
      now: NOW,
    };
    store.inbox.settleSoon(retry, noFailure);
    expect(settle).toHaveBeenCalledTimes(1);
    expect(settle.mock.calls[0]?.[0].map((outcome) => outcome.entry.id)).toEqual([done.id, failing.id]);
    expect(db.pending()).toEqual([failing.id]);
    expect(db.nextAttemptAt(failing.id)).toBe(NOW + 5_000);
    expect(store.inbox.waitingIds()).toEqual([]);
  });

  it(`no more than ${MAX_WAITING_OUTCOMES} wait`, () => {
    const { store } = stores.open();
    const db = committed(store);
    const entries = picked(store, MAX_WAITING_OUTCOMES + 1);
    for (const entry of entries.slice(0, MAX_WAITING_OUTCOMES - 1)) store.inbox.settleSoon(delivered(entry), noFailure);
    expect(db.pending()).toHaveLength(MAX_WAITING_OUTCOMES + 1);
    store.inbox.settleSoon(delivered(entries[MAX_WAITING_OUTCOMES - 1] as InboxEntry), noFailure);
    expect(db.pending()).toEqual([entries[MAX_WAITING_OUTCOMES]?.id]);
  });

  it("ride on the next deliver frame's commit, before its items: the cap counts what it counted before", () => {
    const { store } = stores.open({ inboxMaxItems: 2 });
    const db = committed(store);
    const [first] = picked(store, 2) as [InboxEntry];
    const settle = vi.spyOn(InboxOutcomes.prototype, "settle");
    store.inbox.settleSoon(delivered(first), noFailure);
    const next = messageItem();
    // Committed at once, the outcome would have freed a place: it does so here too.
    expect(store.storeInbound([next], NOW)).toMatchObject({ ack: [next.id], nackInboxFull: [] });
    expect(settle).toHaveBeenCalledTimes(1);
    expect(db.pending()).not.toContain(first.id);
    expect(db.reports()).toEqual([first.id]);
    expect(store.storeInbound([messageItem()], NOW).nackInboxFull).toHaveLength(1);
  });

  it("one that cannot be written never keeps a frame's items out; it alone goes to its failure", () => {
    const { store } = stores.open();
    const db = committed(store);
    const [good, bad] = picked(store, 2) as [InboxEntry, InboxEntry];
    const real = InboxOutcomes.prototype.settle;
    vi.spyOn(InboxOutcomes.prototype, "settle").mockImplementation(function (this: InboxOutcomes, outcomes) {
      if (outcomes.some((outcome) => outcome.entry.id === bad.id)) throw new Error("disk says no");
      real.call(this, outcomes);
    });
    const failures: string[] = [];
    store.inbox.settleSoon(delivered(good), noFailure);
    store.inbox.settleSoon(delivered(bad), (_error, entry) => failures.push(entry.id));
    const next = messageItem();
    expect(store.storeInbound([next], NOW).ack).toEqual([next.id]);
    expect(failures).toEqual([bad.id]);
    expect(db.pending()).toEqual([bad.id, next.id]);
    expect(db.reports()).toEqual([good.id]);
  });

  it("wait again when the frame's commit fails", () => {
    const { store } = stores.open();
    const [entry] = picked(store, 1) as [InboxEntry];
    store.inbox.settleSoon(delivered(entry), noFailure);
    vi.spyOn(store.inbox, "insertItem").mockImplementationOnce(() => {
      throw new Error("full");
    });
    expect(() => store.storeInbound([messageItem()], NOW)).toThrow("full");
    expect(store.inbox.waitingIds()).toEqual([entry.id]);
    expect(store.counts()).toMatchObject({ inboxPending: 0, pendingReports: 1 });
  });

  it("are committed before counts and trace are read", () => {
    const { store } = stores.open();
    const [entry] = picked(store, 1) as [InboxEntry];
    store.inbox.settleSoon(delivered(entry), noFailure);
    expect(store.trace.lookup(entry.id)?.hops.map((hop) => hop.hop)).toContain("hook_delivered");
    store.inbox.settleSoon(delivered(picked(store, 1)[0] as InboxEntry), noFailure);
    expect(store.counts()).toMatchObject({ inboxPending: 0, pendingReports: 2 });
  });
});

describe("store: lazily nested", () => {
  it("stays NORMAL through nested calls and is FULL again after the outermost", () => {
    const { store } = stores.open();
    const level = () => (store as unknown as { db: Database.Database }).db.pragma("synchronous", { simple: true });
    const seen: unknown[] = [];
    store.lazily(() => {
      store.lazily(() => seen.push(level()));
      seen.push(level());
    });
    expect(seen).toEqual([1, 1]);
    expect(level()).toBe(2);
  });
});
