import type { Sql } from "../platform/sql.js";

export const REGISTRY_BINDINGS_MIGRATION = `CREATE TABLE agent_registries (
     agent_id TEXT PRIMARY KEY,
     registries TEXT NOT NULL,
     bound_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`;

/**
 * Which registries (`iss`) may issue identity tokens for an agent id: the one whose token first
 * made the id known (its first signed request to its own id), or the set an admin gave. Kept in
 * Directory shards `registries-<n>` by hash of the agent id — never in a relay session, so a
 * token refused here never reaches one (PROTOCOL.md §3).
 */
export class RegistryBindings {
  constructor(private readonly sql: Sql) {}

  /** The allowed registries, or null while the id is bound to none. */
  get(agentId: string): string[] | null {
    const row = this.sql.one<{ registries: string }>(
      "SELECT registries FROM agent_registries WHERE agent_id = ?",
      agentId,
    );
    return row ? (JSON.parse(row.registries) as string[]) : null;
  }

  /** First registry wins: binds an unbound id to `iss` and answers the registries the id now has. */
  bindFirst(agentId: string, iss: string, now: number): string[] {
    this.sql.run(
      `INSERT INTO agent_registries (agent_id, registries, bound_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_id) DO NOTHING`,
      agentId,
      JSON.stringify([iss]),
      now,
      now,
    );
    return this.get(agentId) ?? [iss];
  }

  /** An admin's decision: exactly these registries from now on (bound or not before). */
  set(agentId: string, registries: readonly string[], now: number): string[] {
    const sorted = [...new Set(registries)].sort();
    this.sql.run(
      `INSERT INTO agent_registries (agent_id, registries, bound_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET registries = excluded.registries, updated_at = excluded.updated_at`,
      agentId,
      JSON.stringify(sorted),
      now,
      now,
    );
    return sorted;
  }
}
