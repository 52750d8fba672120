import type { Sql } from "../platform/sql.js";

export const LOGIN_GUARD_MIGRATION = `CREATE TABLE login_failures (
     client TEXT PRIMARY KEY, window_start INTEGER NOT NULL, failures INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX login_failures_window ON login_failures (window_start);`;

/**
 * Failed dashboard sign-ins per client address, in fixed windows (the `dashboard-login`
 * Directory instance). One row per address that failed within the last window; older rows are
 * swept on each failure, so the table holds at most the addresses of one window.
 */
export class LoginGuard {
  constructor(private readonly sql: Sql) {}

  /** Milliseconds until `client` may try again, 0 when it may now. */
  blockedFor(client: string, maxFailures: number, windowMs: number, now: number): number {
    const row = this.sql.one<{ window_start: number; failures: number }>(
      "SELECT window_start, failures FROM login_failures WHERE client = ?",
      client,
    );
    if (!row || row.failures < maxFailures || now >= row.window_start + windowMs) return 0;
    return row.window_start + windowMs - now;
  }

  failed(client: string, windowMs: number, now: number): void {
    this.sql.run("DELETE FROM login_failures WHERE window_start <= ?", now - windowMs);
    this.sql.run(
      `INSERT INTO login_failures (client, window_start, failures) VALUES (?, ?, 1)
       ON CONFLICT (client) DO UPDATE SET failures = failures + 1`,
      client,
      now,
    );
  }

  /** A sign-in that worked clears the address's failures. */
  succeeded(client: string): void {
    this.sql.run("DELETE FROM login_failures WHERE client = ?", client);
  }
}
