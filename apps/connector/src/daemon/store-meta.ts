import type Database from "better-sqlite3";
import { ulid } from "ulid";

/** Every key the connector keeps in `meta`: nothing else is stored there. */
export type MetaKey = "connectorId" | "lastReceivedId" | "offlineSinceMs";

export interface ResumeState {
  lastReceivedId: string | null;
  offlineSinceMs: number | null;
}

/** The `meta` table: the connector's own id and where the link stands, kept across restarts. */
export class MetaStore {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      get: db.prepare<[MetaKey], { value: string }>("SELECT value FROM meta WHERE key = ?"),
      set: db.prepare<[MetaKey, string]>(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      delete: db.prepare<[MetaKey]>("DELETE FROM meta WHERE key = ?"),
    };
  }

  get(key: MetaKey): string | undefined {
    return this.statements.get.get(key)?.value;
  }

  set(key: MetaKey, value: string | null): void {
    if (value === null) this.statements.delete.run(key);
    else this.statements.set.run(key, value);
  }

  /** The configured id wins; otherwise one random id made on first start and kept. */
  connectorId(configured: string | undefined): string {
    if (configured) return configured;
    const existing = this.get("connectorId");
    if (existing) return existing;
    const made = `c-${ulid().toLowerCase()}`;
    this.set("connectorId", made);
    return made;
  }

  resumeState(): ResumeState {
    const offline = this.get("offlineSinceMs");
    const offlineSinceMs = offline !== undefined && /^\d+$/.test(offline) ? Number(offline) : null;
    return { lastReceivedId: this.get("lastReceivedId") ?? null, offlineSinceMs };
  }

  /** Remember when the link went down, keeping the earliest moment of an unbroken outage. */
  markOffline(since: number): void {
    if (this.get("offlineSinceMs") === undefined) this.set("offlineSinceMs", String(since));
  }

  markOnline(): void {
    this.set("offlineSinceMs", null);
  }
}
