import { RelayError } from "@clawrelay/protocol";

/**
 * Revocations live in the Directory Durable Object. Each isolate keeps a copy refreshed at most
 * every 30 s, so a revocation takes effect everywhere within the 60 s of PROTOCOL.md §2 without a
 * global object on every request's path.
 */
export const REVOCATION_REFRESH_MS = 30_000;

interface RevocationSnapshot {
  fetchedAt: number;
  jtis: Set<string>;
  agentIds: Set<string>;
}

let snapshot: RevocationSnapshot | null = null;
/** When the refresh under way began; a request canceled mid-refresh never clears it, so it expires. */
let refreshingSince: number | null = null;
const REFRESH_ABANDONED_MS = 10_000;

export interface RevocationSource {
  listRevocations(): Promise<{ jtis: string[]; agentIds: string[] }>;
}

async function load(source: RevocationSource, now: number): Promise<RevocationSnapshot> {
  const list = await source.listRevocations();
  return { fetchedAt: now, jtis: new Set(list.jtis), agentIds: new Set(list.agentIds) };
}

/**
 * The isolate's copy, refreshed by the first request that finds it stale. Requests never await
 * a load another request started: workerd cancels the continuations of a request waiting on a
 * promise whose creating request has ended ("the Worker's code had hung", a 500 that showed
 * under 32 concurrent senders). While one request refreshes, the others use the copy it
 * replaces, at most a refresh older, so a revocation still applies within 60 s.
 */
async function current(source: RevocationSource, now: number): Promise<RevocationSnapshot> {
  if (snapshot && now - snapshot.fetchedAt < REVOCATION_REFRESH_MS) return snapshot;
  if (snapshot && refreshingSince !== null && now - refreshingSince < REFRESH_ABANDONED_MS) return snapshot;
  refreshingSince = now;
  try {
    const loaded = await load(source, now);
    // A refresh that outlived a newer one must not put older data back.
    if (!snapshot || loaded.fetchedAt >= snapshot.fetchedAt) snapshot = loaded;
  } catch {
    // Fail closed only when we have never seen the list; otherwise serve the last copy
    // rather than take every agent down with the directory.
    if (!snapshot) throw new RelayError("unavailable", "revocation list unavailable", { retryAfterSeconds: 5 });
  } finally {
    refreshingSince = null;
  }
  return snapshot;
}

export async function assertNotRevoked(
  source: RevocationSource,
  jti: string,
  agentId: string,
  now: number,
): Promise<void> {
  const list = await current(source, now);
  if (list.jtis.has(jti) || list.agentIds.has(agentId)) throw new RelayError("revoked", "identity revoked");
}

/** After this isolate records a revocation, apply it here at once. */
export function forgetRevocationSnapshot(): void {
  snapshot = null;
}
