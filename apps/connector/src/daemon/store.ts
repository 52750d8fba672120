import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DeliverItem } from "@clawrelay/protocol";
import Database from "better-sqlite3";
import { DeadLetterStore } from "./store-dead-letters.js";
import { InboxStore, type StoreInboundResult } from "./store-inbox.js";
import { InboxViews } from "./store-inbox-views.js";
import { MetaStore, type ResumeState } from "./store-meta.js";
import { type OutboxCounts, OutboxStore } from "./store-outbox.js";
import { OutboxLookup, type SessionKeyLookup } from "./store-outbox-lookup.js";
import { ReceiptStore } from "./store-receipts.js";
import { ReceivedStore } from "./store-received.js";
import { ReportStore } from "./store-reports.js";
import { migrate } from "./store-schema.js";
import { TraceStore } from "./store-trace.js";
import { TraceLookup } from "./store-trace-lookup.js";

export type { ResumeState } from "./store-meta.js";
export type { SessionKeyLookup } from "./store-outbox-lookup.js";

export const STORE_FILE_NAME = "connector.sqlite";

export interface StoreOptions {
  inboxMaxItems: number;
  outboxMaxItems: number;
  dedupWindowMs: number;
}

export interface StoreCounts {
  inboxPending: number;
  outbox: OutboxCounts;
  deadLetters: number;
  pendingReports: number;
}

/** How long finished rows (delivered inbox rows, sent/failed outbox rows, receipts, trace) are kept. */
const FINISHED_RETENTION_MS = 7 * 86_400_000;

/**
 * The connector's SQLite store in `dataDir`: WAL, synchronous=FULL so a committed
 * batch survives power loss before it is acknowledged to the relay.
 *
 * Each table has one owner module (store-<owner>*.ts) that alone reads and writes it; an
 * operation that spans tables runs in its owner's transaction and calls the other owners inside
 * it. This class wires the owners (each is built on those it writes through, never the reverse)
 * and answers what spans all of them: counts, pruning, the durability switch.
 */
export class Store implements SessionKeyLookup {
  readonly inbox: InboxStore;
  readonly outbox: OutboxStore;
  /** `clawrelay trace`'s view (what waits to be committed is committed first). */
  readonly trace: Pick<TraceLookup, "lookup">;
  private readonly db: Database.Database;
  /** One transaction function for every batch (better-sqlite3 builds a new wrapper per `db.transaction` call). */
  private readonly run: Database.Transaction<(work: () => unknown) => unknown>;
  /** Inside `lazily`: the connection is at synchronous=NORMAL until the outermost call returns. */
  private relaxed = false;
  /** The owners this class asks directly (for what spans them all); the rest go through inbox and outbox. */
  private readonly owners;

  constructor(
    readonly path: string,
    readonly options: StoreOptions,
  ) {
    this.db = new Database(path);
    // Payloads are the agent's private traffic; SQLite gives the -wal/-shm files the same mode.
    chmodSync(path, 0o600);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    migrate(this.db);
    const db = this.db;
    this.run = db.transaction((work: () => unknown) => work());
    // Built bottom up, each on the owners it writes through: these stand alone; the receipts ask
    // the outbox's read side which message a receipt is about; the inbox writes through all of
    // them; the outbox writes through the inbox (a failed message's local receipt).
    const meta = new MetaStore(db);
    const trace = new TraceStore(db);
    const reports = new ReportStore(db);
    const deadLetters = new DeadLetterStore(db);
    const received = new ReceivedStore(db);
    const outboxLookup = new OutboxLookup(db);
    const receipts = new ReceiptStore(db, outboxLookup);
    const inboxViews = new InboxViews(db);
    this.inbox = new InboxStore(
      db,
      { received, receipts, reports, deadLetters, trace, meta },
      { maxItems: options.inboxMaxItems, dedupWindowMs: options.dedupWindowMs },
      (work) => this.lazily(work),
    );
    this.outbox = new OutboxStore(
      db,
      { lookup: outboxLookup, inbox: this.inbox, receipts, trace },
      { maxItems: options.outboxMaxItems },
    );
    const lookup = new TraceLookup({ trace, outbox: outboxLookup, inbox: inboxViews, deadLetters });
    this.trace = {
      lookup: (id) => {
        this.inbox.settleWaiting();
        return lookup.lookup(id);
      },
    };
    this.owners = { meta, trace, reports, deadLetters, received, receipts, inboxViews };
  }

  static open(dataDir: string, options: StoreOptions): Store {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new Store(join(dataDir, STORE_FILE_NAME), options);
  }

  /** See InboxStore.storeInbound: one transaction; ack only what it returns, only after it returns. */
  storeInbound(items: readonly DeliverItem[], now: number): StoreInboundResult {
    return this.inbox.storeInbound(items, now);
  }

  /** The OpenClaw session that sent an outbound message (see SessionKeyLookup); for the hook formats. */
  sessionKeyForMessage(idOrCorrelationId: string): string | undefined {
    return this.outbox.sessionKeyForMessage(idOrCorrelationId);
  }

  /** Several writes in one transaction: one commit instead of one per statement. */
  batch<T>(work: () => T): T {
    return this.run.immediate(work) as T;
  }

  /**
   * Run `work` with commits that are not fsynced (synchronous=NORMAL), for bookkeeping whose
   * loss in a power cut only repeats work the protocol already allows to repeat — a hook call
   * (delivery to the agent is at least once across crashes) or a `processed` report (the relay
   * keeps the first terminal outcome). Never for what is promised to someone else: items before
   * their ack, outbound messages before their 202. A process crash loses nothing either way (the
   * WAL is in the OS), and the next synchronous=FULL commit fsyncs the WAL with every earlier
   * frame in it, so what is on disk is always a prefix of what was committed.
   *
   * FULL stays the connection's level and NORMAL lasts exactly as long as the outermost call, so
   * any commit not made inside `work` is FULL — the commit before an ack among them: storeInbound
   * runs from the socket's callback, never inside `work` (a connection-wide NORMAL default with
   * FULL only where promised would make every new durable write depend on remembering that). The
   * switch is two PRAGMA compiles, about 1 µs together (measured, issue 18); the hook worker pays
   * it once per batch of outcomes, not once per item (store-inbox-waiting.ts). A call nested in
   * another, or inside an open transaction (where SQLite refuses the switch), does not switch.
   */
  lazily<T>(work: () => T): T {
    if (this.relaxed || this.db.inTransaction) return work();
    // exec, not a prepared statement: SQLite applies a PRAGMA when it compiles it, so a prepared
    // one re-run does nothing.
    this.db.exec("PRAGMA synchronous = NORMAL");
    this.relaxed = true;
    try {
      return work();
    } finally {
      this.relaxed = false;
      this.db.exec("PRAGMA synchronous = FULL");
    }
  }

  /** The configured id wins; otherwise one random id made on first start and kept. */
  connectorId(configured: string | undefined): string {
    return this.owners.meta.connectorId(configured);
  }

  resumeState(): ResumeState {
    return this.owners.meta.resumeState();
  }

  /** Remember when the link went down, keeping the earliest moment of an unbroken outage. */
  markOffline(since: number): void {
    this.owners.meta.markOffline(since);
  }

  markOnline(): void {
    this.owners.meta.markOnline();
  }

  counts(): StoreCounts {
    this.inbox.settleWaiting();
    return {
      inboxPending: this.owners.inboxViews.pendingCount(),
      outbox: this.outbox.counts(),
      deadLetters: this.owners.deadLetters.count(),
      pendingReports: this.owners.reports.count(),
    };
  }

  /** When the oldest outbound message still waiting for a relay, and the oldest undelivered inbox item, arrived. */
  oldestPending(): { outboxQueuedAt: number | null; inboxPendingAt: number | null } {
    this.inbox.settleWaiting();
    return { outboxQueuedAt: this.outbox.oldestActiveAt(), inboxPendingAt: this.owners.inboxViews.oldestPendingAt() };
  }

  /** Drop what no longer serves dedup, status or trace. Cheap; run at start and periodically. */
  prune(now: number): void {
    const finishedBefore = now - FINISHED_RETENTION_MS;
    const dedupBefore = now - this.options.dedupWindowMs;
    const { received, receipts, trace, reports } = this.owners;
    this.inbox.settleWaiting();
    this.db
      .transaction(() => {
        this.inbox.prune(dedupBefore, finishedBefore);
        received.prune(dedupBefore);
        this.outbox.prune(finishedBefore);
        receipts.prune(finishedBefore);
        trace.prune(finishedBefore);
        reports.prune(finishedBefore);
      })
      .immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }
}
