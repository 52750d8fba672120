import type { Sql } from "./sql.js";

/** Small key/value state of the session (agent id, known flag, breaker, counters). */
export class Meta {
  private readonly cache = new Map<string, string | null>();
  constructor(private readonly sql: Sql) {}

  get(key: string): string | null {
    if (this.cache.has(key)) return this.cache.get(key) ?? null;
    const value = this.sql.one<{ value: string }>("SELECT value FROM meta WHERE key = ?", key)?.value ?? null;
    this.cache.set(key, value);
    return value;
  }

  getNumber(key: string, fallback: number): number {
    const value = this.get(key);
    return value === null ? fallback : Number(value);
  }

  getJson<T>(key: string): T | null {
    const value = this.get(key);
    return value === null ? null : (JSON.parse(value) as T);
  }

  set(key: string, value: string | number | null): void {
    if (value === null) {
      // Known absent already (every ack clears the breaker's keys): nothing to delete.
      if (this.cache.has(key) && this.cache.get(key) === null) return;
      this.sql.run("DELETE FROM meta WHERE key = ?", key);
      this.cache.set(key, null);
      return;
    }
    const text = String(value);
    if (this.cache.get(key) === text) return;
    this.sql.run(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      text,
    );
    this.cache.set(key, text);
  }

  setJson(key: string, value: unknown): void {
    this.set(key, JSON.stringify(value));
  }

  increment(key: string, by = 1): number {
    const next = this.getNumber(key, 0) + by;
    this.set(key, next);
    return next;
  }
}
