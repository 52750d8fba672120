import type Database from "better-sqlite3";

/** An inbox row's standing before a write, as far as the cap counts it. */
export interface RowStanding {
  kind: string;
  state: string;
}

/** Whether a row counts against the cap: a pending message (receipts never do). */
export function counts(row: RowStanding | undefined): number {
  return row !== undefined && row.kind === "message" && row.state === "pending" ? 1 : 0;
}

/**
 * How many messages wait in the inbox, for the cap (`inboxMaxItems`), without a `COUNT(*)` per
 * stored batch: counted once, then kept by every inbox write that adds or removes one.
 *
 * It stays exact because it is only trusted where the inbox knows the write will stand: a change
 * made inside one of the inbox's own transactions is kept when that transaction commits on its
 * own. Anything else forgets the number, and the next `count()` counts again: a transaction that
 * threw (rolled back), an own transaction nested inside a caller's (`Store.batch`: the caller may
 * still roll back), or a change made directly inside a caller's transaction (`insertItem`).
 */
export class PendingMessages {
  private known: number | null = null;
  private ownWrites = 0;
  private readonly countAll;
  /**
   * One transaction function for every call: better-sqlite3 builds a wrapper (several closures
   * and properties) each time `db.transaction` is called, about 5 µs (issue 18).
   */
  private readonly run: Database.Transaction<(work: () => unknown) => unknown>;

  constructor(private readonly db: Database.Database) {
    this.run = db.transaction((work: () => unknown) => work());
    this.countAll = db
      .prepare<[], number>("SELECT COUNT(*) FROM inbox WHERE state = 'pending' AND kind = 'message'")
      .pluck();
  }

  count(): number {
    if (this.known === null) this.known = this.countAll.get() ?? 0;
    return this.known;
  }

  /** Run `work` as an inbox transaction (BEGIN IMMEDIATE, a savepoint when nested). */
  transaction<T>(work: () => T): T {
    // Nested in one of the inbox's own, the change stands or falls with that one, which keeps or
    // forgets the number as above; only nesting in a caller's transaction forgets it here.
    const nested = this.db.inTransaction && this.ownWrites === 0;
    const before = this.known;
    this.ownWrites++;
    try {
      const result = this.run.immediate(work) as T;
      if (nested && this.known !== before) this.known = null;
      return result;
    } catch (error) {
      this.known = null;
      throw error;
    } finally {
      this.ownWrites--;
    }
  }

  /** A write changed the number of pending messages by `delta`. */
  changed(delta: number): void {
    if (delta === 0 || this.known === null) return;
    this.known = this.ownWrites > 0 ? this.known + delta : null;
  }
}
