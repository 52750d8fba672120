import { HEADERS, isAgentId, policyBodySchema, RelayError, sendBodySchema } from "@clawrelay/protocol";
import { Hono, type MiddlewareHandler } from "hono";
import { isAdminRequest } from "../auth/admin.js";
import { type SignedRequestOptions, signedRequest } from "../auth/signed-request.js";
import { parseJsonBytes, readJsonRequest, zodMessage } from "../middleware/json.js";
import { handoffRequest } from "../session/upgrade-handoff.js";
import type { AppEnv, Caller } from "../types.js";
import { sessionFor, unwrap } from "./session.js";

function parseJsonBody(c: {
  req: { header(name: string): string | undefined };
  get(key: "body"): Uint8Array | null;
}): unknown {
  return parseJsonBytes(c.req.header("content-type"), c.get("body"));
}

/**
 * Routes only the agent itself (or an admin) may call: another agent is refused 403 not_owner
 * here in the Worker, before its nonce is stored in a session it has no business in. The sender
 * is the verified token's `sub`, so nothing the session knows could change the answer.
 */
export function ownerOnly(param = "id"): MiddlewareHandler<AppEnv> {
  return async function ownerOnlyMiddleware(c, next) {
    const id = c.req.param(param) ?? "";
    if (!isAgentId(id)) throw new RelayError("invalid_request", "agent id in the path is malformed");
    const caller = c.get("caller");
    if (caller && caller.agentId !== id) {
      throw new RelayError("not_owner", "only the agent itself (or an admin) may do this");
    }
    await next();
  };
}

export function agentRoutes(options: SignedRequestOptions = {}): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const signed = signedRequest(options);
  const owner = ownerOnly();

  /** Routes that an admin may also call: admin bearer first, otherwise a signed agent request. */
  const signedOrAdmin = async function signedOrAdmin(
    c: Parameters<typeof signed>[0],
    next: Parameters<typeof signed>[1],
  ): Promise<void> {
    if (isAdminRequest(c.req.header("authorization"), c.get("config").ADMIN_TOKEN)) {
      await next();
      return;
    }
    await signed(c, next);
  };
  const callerOf = (c: {
    get(key: "caller"): AppEnv["Variables"]["caller"] | undefined;
    get(key: "correlationId"): string;
  }): Caller => c.get("caller") ?? { kind: "admin", correlationId: c.get("correlationId") };

  routes.post("/:to/messages", signed, async (c) => {
    const to = c.req.param("to");
    const session = sessionFor(c.env, to);
    const parsed = sendBodySchema.safeParse(parseJsonBody(c));
    if (!parsed.success) throw new RelayError("invalid_request", zodMessage(parsed.error));
    const answer = unwrap(
      await session.send(to, c.get("caller"), {
        body: parsed.data,
        idempotencyKey: c.req.header(HEADERS.idempotencyKey) ?? null,
        contentDigest: c.req.header(HEADERS.contentDigest) ?? null,
        receivedAt: c.get("receivedAt"),
      }),
    );
    return c.json(answer, answer.duplicate ? 200 : 202);
  });

  routes.get("/:to/messages/:messageId", signedOrAdmin, async (c) => {
    const to = c.req.param("to");
    const record = unwrap(await sessionFor(c.env, to).getMessage(to, callerOf(c), c.req.param("messageId")));
    return c.json(record);
  });

  routes.get("/:id/status", signedOrAdmin, owner, async (c) => {
    const id = c.req.param("id");
    return c.json(unwrap(await sessionFor(c.env, id).status(id, callerOf(c))));
  });

  routes.put("/:id/policy", signedOrAdmin, owner, async (c) => {
    const id = c.req.param("id");
    const session = sessionFor(c.env, id);
    const caller = callerOf(c);
    const raw =
      caller.kind === "admin"
        ? await readJsonRequest(c.req.raw, c.get("config").RELAY_MAX_BODY_BYTES)
        : parseJsonBody(c);
    const parsed = policyBodySchema.safeParse(raw);
    if (!parsed.success) throw new RelayError("invalid_request", zodMessage(parsed.error));
    return c.json(unwrap(await session.putPolicy(id, caller, parsed.data)));
  });

  routes.get("/:id/connect", signed, owner, async (c) => {
    const id = c.req.param("id");
    const session = sessionFor(c.env, id);
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new RelayError("invalid_request", "expected a WebSocket upgrade");
    }
    // The DO trusts only what the Worker passes: a fresh request carrying the verified caller,
    // never the client's own headers.
    const handoff = { agentId: id, caller: c.get("caller"), connectorId: c.req.header(HEADERS.connectorId) ?? "" };
    return session.fetch(handoffRequest(handoff));
  });

  return routes;
}
