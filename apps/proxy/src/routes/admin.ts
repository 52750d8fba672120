import {
  type AgentRegistries,
  agentIdSchema,
  agentRegistriesBodySchema,
  RelayError,
  revocationBodySchema,
} from "@clawrelay/protocol";
import { Hono } from "hono";
import { requireAdmin } from "../auth/admin.js";
import { directoryRegistries, forgetRegistryBinding } from "../auth/registry-binding.js";
import { forgetRevocationSnapshot } from "../auth/revocations.js";
import { readJsonRequest } from "../middleware/json.js";
import { directoryStub } from "../platform/stubs.js";
import type { AppEnv } from "../types.js";
import { sessionFor, unwrap } from "./session.js";

export function adminRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.use("/admin/*", requireAdmin());

  routes.post("/admin/revocations", async (c) => {
    const parsed = revocationBodySchema.safeParse(
      await readJsonRequest(c.req.raw, c.get("config").RELAY_MAX_BODY_BYTES),
    );
    if (!parsed.success)
      throw new RelayError("invalid_request", 'body must be {"jti"} or {"agentId"}, with an optional "reason"');
    const directory = directoryStub(c.env);
    const revocation = await directory.revoke(parsed.data);
    forgetRevocationSnapshot();
    // Open connections of a revoked agent are closed now (4003); a revoked jti's connection is
    // closed by its session's next credential check, within the 60 s bound.
    if ("agentId" in parsed.data) await sessionFor(c.env, parsed.data.agentId).disconnectRevoked(parsed.data.agentId);
    return c.json(revocation, 201);
  });

  /** Registers a recipient before its agent first connects (PROTOCOL.md §4 "or an admin registered it"). */
  routes.put("/admin/agents/:id", async (c) => {
    const id = c.req.param("id");
    if (!agentIdSchema.safeParse(id).success) throw new RelayError("invalid_request", "agent id is malformed");
    const status = unwrap(await sessionFor(c.env, id).register(id, c.get("correlationId")));
    return c.json(status, 200);
  });

  /**
   * Which trusted registries may issue tokens for an id (PROTOCOL.md §4 addition): replaces the
   * binding its first registry made. Each must be one of REGISTRY_JWKS, so a typo cannot lock the
   * agent out. Other isolates apply it within REGISTRY_CACHE_MS; open connections keep their token.
   */
  routes.put("/admin/agents/:id/registries", async (c) => {
    const id = c.req.param("id");
    if (!agentIdSchema.safeParse(id).success) throw new RelayError("invalid_request", "agent id is malformed");
    const parsed = agentRegistriesBodySchema.safeParse(
      await readJsonRequest(c.req.raw, c.get("config").RELAY_MAX_BODY_BYTES),
    );
    if (!parsed.success) throw new RelayError("invalid_request", 'body must be {"registries": ["<iss>", …]}');
    const trusted = c.get("config").REGISTRY_JWKS;
    const unknown = parsed.data.registries.filter((iss) => !Object.hasOwn(trusted, iss));
    if (unknown.length > 0) throw new RelayError("invalid_request", `not a trusted registry: ${unknown.join(", ")}`);
    const registries = await directoryRegistries(c.env, id).setRegistries(id, parsed.data.registries);
    forgetRegistryBinding(id);
    return c.json({ agentId: id, registries } satisfies AgentRegistries, 200);
  });

  return routes;
}
