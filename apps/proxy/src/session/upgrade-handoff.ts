import type { SignedCaller } from "../types.js";

/**
 * The WebSocket upgrade is the one request the Worker forwards to a session by `fetch` rather
 * than typed RPC: these headers are how the verified caller travels with it. The Worker writes
 * them on a fresh request (never the client's own headers), and the session reads only them.
 */
const HANDOFF_HEADERS = {
  agentId: "x-relay-agent-id",
  caller: "x-relay-caller",
  connectorId: "x-relay-connector-id",
} as const;

export interface UpgradeHandoff {
  agentId: string;
  caller: SignedCaller;
  /** The connector's own id (its `x-connector-id` header), empty when it sent none. */
  connectorId: string;
}

/** The request the Worker hands to the session, carrying what it verified. */
export function handoffRequest(handoff: UpgradeHandoff): Request {
  return new Request("https://relay-session/connect", {
    headers: {
      upgrade: "websocket",
      [HANDOFF_HEADERS.agentId]: handoff.agentId,
      [HANDOFF_HEADERS.caller]: JSON.stringify(handoff.caller),
      [HANDOFF_HEADERS.connectorId]: handoff.connectorId,
    },
  });
}

/**
 * The session's side: what the Worker passed, or null for anything that is not its upgrade.
 * The caller was built by the Worker itself (`handoffRequest`), so it is trusted as written.
 */
export function readHandoff(request: Request): UpgradeHandoff | null {
  const callerText = request.headers.get(HANDOFF_HEADERS.caller);
  if (request.headers.get("upgrade") !== "websocket" || callerText === null) return null;
  const caller = JSON.parse(callerText) as SignedCaller | null;
  if (caller === null) return null;
  return {
    agentId: request.headers.get(HANDOFF_HEADERS.agentId) ?? "",
    caller,
    connectorId: request.headers.get(HANDOFF_HEADERS.connectorId) ?? "",
  };
}
