/**
 * A thin parameterised helper over `ctx.storage.sql`. Values are always bound, never spliced
 * into the SQL text. Synchronous on purpose: SQLite-backed DO storage is synchronous, and a
 * handler that never awaits between reads and writes cannot interleave with another.
 */
export type SqlValue = string | number | null | ArrayBuffer;
export type Row = Record<string, SqlValue>;

export class Sql {
  constructor(private readonly storage: SqlStorage) {}

  all<T extends Row = Row>(query: string, ...params: SqlValue[]): T[] {
    return this.storage.exec<T>(query, ...params).toArray();
  }

  one<T extends Row = Row>(query: string, ...params: SqlValue[]): T | null {
    const rows = this.storage.exec<T>(query, ...params).toArray();
    return rows[0] ?? null;
  }

  run(query: string, ...params: SqlValue[]): number {
    return this.storage.exec(query, ...params).rowsWritten;
  }

  scalar(query: string, ...params: SqlValue[]): number {
    const row = this.storage.exec(query, ...params).toArray()[0];
    if (!row) return 0;
    const value = Object.values(row)[0];
    return typeof value === "number" ? value : Number(value ?? 0);
  }
}

/**
 * Versioned migrations: each entry runs once, in order, recorded in `_migrations`.
 * Run inside `blockConcurrencyWhile` from the constructor so no request sees a half-built schema.
 */
export function migrate(sql: Sql, migrations: readonly string[]): void {
  sql.run("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const applied = sql.scalar("SELECT COALESCE(MAX(version), 0) AS v FROM _migrations");
  for (let version = applied + 1; version <= migrations.length; version++) {
    const statements = migrations[version - 1];
    if (statements === undefined) continue;
    sql.run(statements);
    sql.run("INSERT INTO _migrations (version, applied_at) VALUES (?, ?)", version, Date.now());
  }
}
