import { agentIdSchema, type Outcome, RelayError } from "@clawrelay/protocol";
import { relaySessionStub } from "../platform/stubs.js";
import type { RelaySession } from "../session/relay-session.js";

/** The addressed agent's relay session; validates the path id first (the DO name must be a real agent id). */
export function sessionFor(env: Env, agentId: string): DurableObjectStub<RelaySession> {
  if (!agentIdSchema.safeParse(agentId).success)
    throw new RelayError("invalid_request", "agent id in the path is malformed");
  return relaySessionStub(env, agentId);
}

/** DO RPC answers carry failures as data (class identity does not cross RPC); rethrow them here. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw RelayError.fromFailure(outcome);
}
