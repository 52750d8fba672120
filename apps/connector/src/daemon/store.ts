import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DeliverItem } from "@clawrelay/protocol";
import Database from "better-sqlite3";
import { ulid } from "ulid";
import { z } from "zod";
import { InboxStore, type StoreInboundResult } from "./store-inbox.js";
import { OutboxStore, type SessionKeyLookup } from "./store-outbox.js";
import { migrate } from "./store-schema.js";
import { TraceStore } from "./store-trace.js";

export type { SessionKeyLookup } from "./store-outbox.js";

export const STORE_FILE_NAME = "connector.sqlite";

export interface StoreOptions {
  inboxMaxItems: number;
  outboxMaxItems: number;
  dedupWindowMs: number;
}

export interface StoreCounts {
  inboxPending: number;
  outbox: { queued: number; sending: number; sent: number; failed: number };
  deadLetters: number;
  pendingReports: number;
}

export interface ResumeState {
  lastReceivedId: string | null;
  offlineSinceMs: number | null;
}

/** How long finished rows (delivered inbox rows, sent/failed outbox rows, receipts, trace) are kept. */
const FINISHED_RETENTION_MS = 7 * 86_400_000;

const countRowSchema = z.object({ n: z.number() });
const oldestRowSchema = z.object({ at: z.number().nullable() });
const stateCountSchema = z.object({ state: z.string(), n: z.number() });

/**
 * The connector's SQLite store in `dataDir`: WAL, synchronous=FULL so a committed
 * batch survives power loss before it is acknowledged to the relay.
 */
export class Store implements SessionKeyLookup {
  readonly inbox: InboxStore;
  readonly outbox: OutboxStore;
  readonly trace: TraceStore;
  private readonly db: Database.Database;
  private readonly meta;

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
    this.inbox = new InboxStore(this.db, {
      maxItems: options.inboxMaxItems,
      dedupWindowMs: options.dedupWindowMs,
    });
    this.outbox = new OutboxStore(this.db, this.inbox, { maxItems: options.outboxMaxItems });
    this.trace = new TraceStore(this.db);
    this.meta = {
      get: this.db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
      set: this.db.prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      delete: this.db.prepare("DELETE FROM meta WHERE key = ?"),
    };
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
    return this.db.transaction(work).immediate();
  }

  /**
   * Run `work` with commits that are not fsynced (synchronous=NORMAL), for bookkeeping whose
   * loss in a power cut only repeats work the protocol already allows to repeat — a hook call
   * (delivery to the agent is at least once across crashes) or a `processed` report (the relay
   * keeps the first terminal outcome). Never for what is promised to someone else: items before
   * their ack, outbound messages before their 202. A process crash loses nothing either way (the
   * WAL is in the OS), and the next synchronous=FULL commit fsyncs the WAL with every earlier
   * frame in it, so what is on disk is always a prefix of what was committed.
   */
  lazily<T>(work: () => T): T {
    if (this.db.inTransaction) return work();
    // exec, not a prepared statement: SQLite applies a PRAGMA when it compiles it, so a prepared
    // one re-run does nothing.
    this.db.exec("PRAGMA synchronous = NORMAL");
    try {
      return work();
    } finally {
      this.db.exec("PRAGMA synchronous = FULL");
    }
  }

  getMeta(key: string): string | undefined {
    return this.meta.get.get(key)?.value;
  }

  setMeta(key: string, value: string | null): void {
    if (value === null) this.meta.delete.run(key);
    else this.meta.set.run(key, value);
  }

  /** The configured id wins; otherwise one random id made on first start and kept. */
  connectorId(configured: string | undefined): string {
    if (configured) return configured;
    const existing = this.getMeta("connectorId");
    if (existing) return existing;
    const made = `c-${ulid().toLowerCase()}`;
    this.setMeta("connectorId", made);
    return made;
  }

  resumeState(): ResumeState {
    const offline = this.getMeta("offlineSinceMs");
    const offlineSinceMs = offline !== undefined && /^\d+$/.test(offline) ? Number(offline) : null;
    return { lastReceivedId: this.getMeta("lastReceivedId") ?? null, offlineSinceMs };
  }

  /** Remember when the link went down, keeping the earliest moment of an unbroken outage. */
  markOffline(since: number): void {
    if (this.getMeta("offlineSinceMs") === undefined) this.setMeta("offlineSinceMs", String(since));
  }

  markOnline(): void {
    this.setMeta("offlineSinceMs", null);
  }

  counts(): StoreCounts {
    const count = (sql: string) => countRowSchema.parse(this.db.prepare(sql).get()).n;
    const outbox = { queued: 0, sending: 0, sent: 0, failed: 0 };
    for (const raw of this.db.prepare("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state").all()) {
      const row = stateCountSchema.parse(raw);
      if (row.state in outbox) outbox[row.state as keyof typeof outbox] = row.n;
    }
    return {
      inboxPending: count("SELECT COUNT(*) AS n FROM inbox WHERE state = 'pending'"),
      outbox,
      deadLetters: count("SELECT COUNT(*) AS n FROM dead_letters"),
      pendingReports: count("SELECT COUNT(*) AS n FROM pending_reports"),
    };
  }

  /** When the oldest outbound message still waiting for a relay, and the oldest undelivered inbox item, arrived. */
  oldestPending(): { outboxQueuedAt: number | null; inboxPendingAt: number | null } {
    const at = (sql: string) => oldestRowSchema.parse(this.db.prepare(sql).get()).at;
    return {
      outboxQueuedAt: at("SELECT MIN(created_at) AS at FROM outbox WHERE state IN ('queued', 'sending')"),
      inboxPendingAt: at("SELECT MIN(received_at) AS at FROM inbox WHERE state = 'pending'"),
    };
  }

  /** Drop what no longer serves dedup, status or trace. Cheap; run at start and periodically. */
  prune(now: number): void {
    const finishedBefore = now - FINISHED_RETENTION_MS;
    this.db
      .transaction(() => {
        this.db.prepare("DELETE FROM seen WHERE seen_at < ?").run(now - this.options.dedupWindowMs);
        this.inbox.received.prune(now - this.options.dedupWindowMs);
        this.db.prepare("DELETE FROM inbox WHERE state = 'delivered' AND finished_at < ?").run(finishedBefore);
        this.db.prepare("DELETE FROM outbox WHERE state IN ('sent', 'failed') AND updated_at < ?").run(finishedBefore);
        this.db.prepare("DELETE FROM receipts WHERE stored_at < ?").run(finishedBefore);
        this.db.prepare("DELETE FROM trace WHERE at < ?").run(finishedBefore);
        this.db.prepare("DELETE FROM pending_reports WHERE created_at < ?").run(finishedBefore);
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
