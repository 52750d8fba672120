import { DurableObject } from "cloudflare:workers";
import { migrate, Sql } from "../session/sql.js";

const MIGRATIONS = [
  `CREATE TABLE revocations (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     jti TEXT,
     agent_id TEXT,
     reason TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX revocations_jti ON revocations (jti) WHERE jti IS NOT NULL;
   CREATE UNIQUE INDEX revocations_agent ON revocations (agent_id) WHERE agent_id IS NOT NULL;`,
] as const;

export interface Revocation {
  jti?: string;
  agentId?: string;
  reason?: string;
  createdAt: number;
}

/**
 * The one global object: revocations (read by each isolate at most every 30 s, never per
 * message). Per-agent state lives in each agent's RelaySession.
 */
export class Directory extends DurableObject<Env> {
  private readonly sql: Sql;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = new Sql(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => migrate(this.sql, MIGRATIONS));
  }

  async revoke(input: { jti?: string; agentId?: string; reason?: string }, now = Date.now()): Promise<Revocation> {
    const existing = input.jti
      ? this.sql.one<{ reason: string | null; created_at: number }>(
          "SELECT reason, created_at FROM revocations WHERE jti = ?",
          input.jti,
        )
      : this.sql.one<{ reason: string | null; created_at: number }>(
          "SELECT reason, created_at FROM revocations WHERE agent_id = ?",
          input.agentId ?? null,
        );
    if (!existing) {
      this.sql.run(
        "INSERT INTO revocations (jti, agent_id, reason, created_at) VALUES (?, ?, ?, ?)",
        input.jti ?? null,
        input.agentId ?? null,
        input.reason ?? null,
        now,
      );
    }
    const reason = existing ? existing.reason : (input.reason ?? null);
    return {
      ...(input.jti ? { jti: input.jti } : {}),
      ...(input.agentId ? { agentId: input.agentId } : {}),
      ...(reason ? { reason } : {}),
      createdAt: existing ? existing.created_at : now,
    };
  }

  async listRevocations(): Promise<{ jtis: string[]; agentIds: string[] }> {
    const rows = this.sql.all<{ jti: string | null; agent_id: string | null }>("SELECT jti, agent_id FROM revocations");
    return {
      jtis: rows.flatMap((r) => (r.jti ? [r.jti] : [])),
      agentIds: rows.flatMap((r) => (r.agent_id ? [r.agent_id] : [])),
    };
  }
}
