import { readOperatorView } from "../metrics/fanout.js";
import { sessionFor, unwrap } from "../routes/session.js";
import type { MessageRecord } from "../session/queue/records.js";

/**
 * How many agents' records one search reads when no recipient is named: one indexed read in
 * each session, the most recently reporting agents first. Naming the recipient reads only its.
 */
export const SEARCH_AGENTS = 100;

export interface SearchMatch {
  agentId: string;
  messageId: string;
  correlationId: string;
  state: string;
  at: number;
  source: "record" | "recent_failure";
}

export interface SearchAnswer {
  query: string;
  agent: string | null;
  matches: SearchMatch[];
  searched: { agents: number; of: number };
}

/**
 * A message id is found in its recipient's records (`GET /v1/agents/{to}/messages/{id}`); a
 * correlation id, which sessions do not index, only among the relay's recent failures (each
 * carries its message id, which leads to the full trace).
 */
export async function searchMessages(
  env: Env,
  input: { query: string; agent: string | null; correlationId: string },
): Promise<SearchAnswer> {
  const { query, agent } = input;
  const now = Date.now();
  const view = await readOperatorView(env, { now, includeAgents: agent === null, correlationId: input.correlationId });
  const matches = new Map<string, SearchMatch>();
  for (const failure of view.merged.recentFailures) {
    if (agent !== null && failure.agentId !== agent) continue;
    if (failure.messageId !== query && failure.correlationId !== query) continue;
    matches.set(`${failure.agentId}/${failure.messageId}`, {
      agentId: failure.agentId,
      messageId: failure.messageId,
      correlationId: failure.correlationId,
      state: failure.status,
      at: failure.at,
      source: "recent_failure",
    });
  }
  const everyone = [...(view.merged.agents ?? [])].sort((a, b) => b.at - a.at).map((row) => row.agentId);
  const candidates = agent !== null ? [agent] : everyone.slice(0, SEARCH_AGENTS);
  const caller = { kind: "admin" as const, correlationId: input.correlationId };
  const records = await Promise.all(
    candidates.map(async (to) => {
      try {
        const record: MessageRecord = unwrap(await sessionFor(env, to).getMessage(to, caller, query));
        return record;
      } catch {
        // not_found is the usual answer; an agent that cannot answer is only not searched.
        return null;
      }
    }),
  );
  for (const record of records) {
    if (!record) continue;
    matches.set(`${record.to}/${record.messageId}`, {
      agentId: record.to,
      messageId: record.messageId,
      correlationId: record.correlationId,
      state: record.terminal ?? record.state,
      at: record.finishedAt ?? record.enqueuedAt,
      source: "record",
    });
  }
  return {
    query,
    agent,
    matches: [...matches.values()].sort((a, b) => b.at - a.at),
    searched: { agents: candidates.length, of: agent !== null ? 1 : everyone.length },
  };
}
