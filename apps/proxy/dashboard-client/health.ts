import type { Connection } from "./schemas.js";

const BREAKER_RANK: Record<string, number> = { closed: 1, half_open: 2, open: 3 };

/** The worst hook breaker the agent's connectors reported; "–" before any health frame. */
export function hookState(connections: readonly Connection[]): string {
  let worst: string | null = null;
  for (const connection of connections) {
    const state = connection.health?.hook.breaker;
    if (state && (worst === null || (BREAKER_RANK[state] ?? 0) > (BREAKER_RANK[worst] ?? 0))) worst = state;
  }
  return worst ?? "–";
}

export const isConnected = (connections: readonly Connection[]): boolean =>
  connections.some((c) => c.role === "active");
