import { FAILURE_RECEIPT_STATUSES, PRIORITIES } from "@clawrelay/protocol";
import type { AgentRow } from "./digest.js";
import type { Exposition, Sample } from "./prometheus-text.js";

const BREAKER_STATE: Record<string, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * The per-agent families, for the agents RELAY_METRICS_AGENT_SERIES lets through. Gauges have a
 * series per agent; the failure counter and the connector problem gauge only for agents that
 * had one, so a healthy fleet adds none of those.
 */
export function agentFamilies(out: Exposition, agents: readonly AgentRow[], now: number): void {
  const each = (pick: (row: AgentRow) => Sample[]) => agents.flatMap(pick);
  out.family(
    "clawrelay_agent_connected",
    "gauge",
    "1 when the agent has an active connector.",
    each((r) => [{ labels: { agent: r.agentId }, value: r.connections.some((c) => c.role === "active") ? 1 : 0 }]),
  );
  out.family(
    "clawrelay_agent_connections",
    "gauge",
    "Open connector sockets of the agent (active and standby).",
    each((r) => [{ labels: { agent: r.agentId }, value: r.connections.length }]),
  );
  out.family(
    "clawrelay_queue_items",
    "gauge",
    "Queued messages by agent and lane.",
    each((r) => PRIORITIES.map((lane) => ({ labels: { agent: r.agentId, lane }, value: r.queue.lanes[lane].items }))),
  );
  out.family(
    "clawrelay_queue_bytes",
    "gauge",
    "Queued payload bytes by agent and lane.",
    each((r) => PRIORITIES.map((lane) => ({ labels: { agent: r.agentId, lane }, value: r.queue.lanes[lane].bytes }))),
  );
  out.family(
    "clawrelay_queue_in_flight",
    "gauge",
    "Items sent to the connector and not yet acknowledged.",
    each((r) => [{ labels: { agent: r.agentId }, value: r.queue.inFlight }]),
  );
  out.family(
    "clawrelay_queue_oldest_age_seconds",
    "gauge",
    "Age of the oldest queued or in-flight item at the agent's last report (0 when empty).",
    each((r) => [
      {
        labels: { agent: r.agentId },
        value: r.queue.oldestQueuedAt === null ? 0 : Math.max(0, (now - r.queue.oldestQueuedAt) / 1000),
      },
    ]),
  );
  out.family(
    "clawrelay_receipt_queue_items",
    "gauge",
    "Receipts queued for the agent (never counted against the caps).",
    each((r) => [{ labels: { agent: r.agentId }, value: r.queue.receipts.items }]),
  );
  out.family(
    "clawrelay_delivery_breaker_state",
    "gauge",
    "Relay to connector circuit breaker: 0 closed, 1 half-open, 2 open, -1 unknown.",
    each((r) => [{ labels: { agent: r.agentId }, value: BREAKER_STATE[r.breaker.state] ?? -1 }]),
  );
  out.family(
    "clawrelay_receipt_breaker_state",
    "gauge",
    "Receipt delivery breaker per destination relay: 0 closed, 1 half-open, 2 open, -1 unknown.",
    each((r) =>
      r.receiptBreakers.map((b) => ({
        labels: { agent: r.agentId, destination: b.destination },
        value: BREAKER_STATE[b.state] ?? -1,
      })),
    ),
  );
  // From the connectors' `health` frames. The breaker series exists only for an agent with a
  // problem, so a healthy fleet adds none; token expiry is one series per reporting agent.
  out.family(
    "clawrelay_connector_hook_breaker_open",
    "gauge",
    "1 for an agent one of whose connectors reports its hook breaker open or half-open (no series otherwise).",
    each((r) =>
      r.connections.some((c) => c.health && c.health.hook.breaker !== "closed")
        ? [{ labels: { agent: r.agentId }, value: 1 }]
        : [],
    ),
  );
  out.family(
    "clawrelay_connector_token_expires_in_seconds",
    "gauge",
    "Time until the soonest identity token expiry its connectors report (negative once expired).",
    each((r) => {
      const expiries = r.connections.flatMap((c) => (c.health?.tokenExpiresAt ? [c.health.tokenExpiresAt] : []));
      if (expiries.length === 0) return [];
      return [{ labels: { agent: r.agentId }, value: (Math.min(...expiries) - now) / 1000 }];
    }),
  );
  out.family(
    "clawrelay_agent_failures_total",
    "counter",
    "Messages to the agent that ended in failure, by kind (failed, expired, shed, dead_lettered), since the agent first reported; only agents and kinds that had one.",
    each((r) =>
      FAILURE_RECEIPT_STATUSES.flatMap((kind) => {
        const value = r.failures?.[kind] ?? 0;
        return value > 0 ? [{ labels: { agent: r.agentId, kind }, value }] : [];
      }),
    ),
  );
  out.family(
    "clawrelay_agent_report_age_seconds",
    "gauge",
    "Time since the agent's session last reported its summary.",
    each((r) => [{ labels: { agent: r.agentId }, value: Math.max(0, (now - r.at) / 1000) }]),
  );
}
