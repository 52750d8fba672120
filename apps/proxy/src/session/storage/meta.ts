import type { Sql } from "../../platform/sql.js";

/** The session's counters (`GET …/status` shows them by these names). */
export const COUNTER_NAMES = ["received", "sent", "acked", "nacked", "ack_timeouts", "expired", "shed"] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

/** Every key of the `meta` table, with the owner that writes it. */
export type MetaKey =
  // access: the agent this session is bound to, whether it registered or connected, where it is homed
  | "agent_id"
  | "known"
  | "known_since"
  | "home_relay"
  // access: the latest nonce generation whose table was emptied (access/nonces.ts)
  | "nonce_generation"
  // queue: the agent's per-peer policy
  | "policy"
  // delivery: the relay → connector breaker, and the last acked message (reconnect_ack)
  | "breaker_failures"
  | "breaker_opened_at"
  | "breaker_probe"
  | "last_acked_id"
  // receipts: one breaker per destination relay
  | "receipt_breakers"
  // connections: since when no connector is active; observation: uptime counted so far
  | "offline_since"
  | "uptime_counted_at"
  | `count_${CounterName}`;

/**
 * Keys written behind (session/write-behind.ts): they change on every message, and every reader
 * goes through `get` — status's counters, and `last_acked_id` only through the handshake's
 * reconnect_ack (connections/handshake.ts). An eviction without warning may leave them up to
 * METRICS_FLUSH_AFTER_MS (5 s) old in SQLite: a counter a little low, or reconnect_ack naming
 * an earlier acked id (the connector keeps no state by it); never a message or its state.
 */
function writtenBehind(key: MetaKey): boolean {
  return key.startsWith("count_") || key === "last_acked_id";
}

/** Small key/value state of the session (agent id, known flag, breaker, counters). */
export class Meta {
  private readonly cache = new Map<string, string | null>();
  /** Values of written-behind keys not yet in SQLite (null: to delete); the cache holds them too. */
  private readonly pending = new Map<MetaKey, string | null>();
  constructor(private readonly sql: Sql) {}

  get(key: MetaKey): string | null {
    if (this.cache.has(key)) return this.cache.get(key) ?? null;
    const value = this.sql.one<{ value: string }>("SELECT value FROM meta WHERE key = ?", key)?.value ?? null;
    this.cache.set(key, value);
    return value;
  }

  getNumber(key: MetaKey, fallback: number): number {
    const value = this.get(key);
    return value === null ? fallback : Number(value);
  }

  getJson<T>(key: MetaKey): T | null {
    const value = this.get(key);
    return value === null ? null : (JSON.parse(value) as T);
  }

  set(key: MetaKey, value: string | number | null): void {
    const text = value === null ? null : String(value);
    // Known already (every ack clears the breaker's keys, already absent): nothing to write.
    if (this.cache.has(key) && this.cache.get(key) === text) return;
    this.cache.set(key, text);
    if (writtenBehind(key)) this.pending.set(key, text);
    else this.write(key, text);
  }

  /** Whether written-behind values wait for `flush`. */
  hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Writes the pending values, one statement per key. */
  flush(): void {
    for (const [key, text] of this.pending) {
      this.write(key, text);
      this.pending.delete(key);
    }
  }

  private write(key: MetaKey, text: string | null): void {
    if (text === null) {
      this.sql.run("DELETE FROM meta WHERE key = ?", key);
      return;
    }
    this.sql.run(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      text,
    );
  }

  setJson(key: MetaKey, value: unknown): void {
    this.set(key, JSON.stringify(value));
  }

  increment(key: MetaKey, by = 1): number {
    const next = this.getNumber(key, 0) + by;
    this.set(key, next);
    return next;
  }
}
