import { DurableObject } from "cloudflare:workers";
import { migrate, Sql } from "../platform/sql.js";
import { LOGIN_GUARD_MIGRATION, LoginGuard } from "./login-guard.js";
import { REGISTRY_BINDINGS_MIGRATION, RegistryBindings } from "./registry-bindings.js";

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
  // v2: which registries may issue tokens for an agent id (used by the `registries-<n>` instances).
  REGISTRY_BINDINGS_MIGRATION,
  // v3: failed dashboard sign-ins per client address (the `dashboard-login` instance).
  LOGIN_GUARD_MIGRATION,
] as const;

export interface Revocation {
  jti?: string;
  agentId?: string;
  reason?: string;
  createdAt: number;
}

/**
 * Relay-wide state outside the relay sessions, one class under several names: `global` holds
 * the revocations (read by each isolate at most every 30 s, never per message); `registries-<n>`
 * hold the agent id → registry bindings of the ids hashing to n; `dashboard-login` counts failed
 * dashboard sign-ins. Per-agent state lives in each agent's RelaySession.
 */
export class Directory extends DurableObject<Env> {
  private readonly sql: Sql;
  private readonly registries: RegistryBindings;
  private readonly logins: LoginGuard;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = new Sql(ctx.storage.sql);
    this.registries = new RegistryBindings(this.sql);
    this.logins = new LoginGuard(this.sql);
    ctx.blockConcurrencyWhile(async () => migrate(this.sql, MIGRATIONS));
  }

  async registriesOf(agentId: string): Promise<string[] | null> {
    return this.registries.get(agentId);
  }

  async bindRegistry(agentId: string, iss: string, now = Date.now()): Promise<string[]> {
    return this.registries.bindFirst(agentId, iss, now);
  }

  async loginBlockedFor(client: string, maxFailures: number, windowMs: number, now = Date.now()): Promise<number> {
    return this.logins.blockedFor(client, maxFailures, windowMs, now);
  }

  async loginFailed(client: string, windowMs: number, now = Date.now()): Promise<void> {
    this.logins.failed(client, windowMs, now);
  }

  async loginSucceeded(client: string): Promise<void> {
    this.logins.succeeded(client);
  }

  async setRegistries(agentId: string, registries: string[], now = Date.now()): Promise<string[]> {
    return this.registries.set(agentId, registries, now);
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
