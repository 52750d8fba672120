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
/** The first failed refresh since the last good one; null while refreshes succeed. */
let failingSince: number | null = null;
const REFRESH_ABANDONED_MS = 10_000;

export interface RevocationSource {
  listRevocations(): Promise<{ jtis: string[]; agentIds: string[] }>;
}

async function load(source: RevocationSource, now: number): Promise<RevocationSnapshot> {
  const list = await source.listRevocations();
  return { fetchedAt: now, jtis: new Set(list.jtis), agentIds: new Set(list.agentIds) };
}

const unavailable = (message: string) => new RelayError("unavailable", message, { retryAfterSeconds: 5 });

/**
 * The copy to judge by while refreshes fail. Within `maxStaleMs` of its load it is served rather
 * than take every agent down with the directory; past that it is refused (fail closed): a list
 * that old can no longer keep the 60 s promise of PROTOCOL.md §2, and a refused request loses
 * nothing — the connector holds it and retries after Retry-After (apps/proxy/README.md).
 */
function servable(list: RevocationSnapshot, now: number, maxStaleMs: number): RevocationSnapshot {
  if (failingSince !== null && now - list.fetchedAt > maxStaleMs) {
    throw unavailable("revocation list could not be refreshed for too long");
  }
  return list;
}

/**
 * The isolate's copy, refreshed by the first request that finds it stale. Requests never await
 * a load another request started: workerd cancels the continuations of a request waiting on a
 * promise whose creating request has ended ("the Worker's code had hung", a 500 that showed
 * under 32 concurrent senders). While one request refreshes, the others use the copy it
 * replaces, at most a refresh older, so a revocation still applies within 60 s.
 */
async function current(source: RevocationSource, now: number, maxStaleMs: number): Promise<RevocationSnapshot> {
  if (snapshot && now - snapshot.fetchedAt < REVOCATION_REFRESH_MS) return snapshot;
  if (snapshot && refreshingSince !== null && now - refreshingSince < REFRESH_ABANDONED_MS) {
    return servable(snapshot, now, maxStaleMs);
  }
  refreshingSince = now;
  try {
    const loaded = await load(source, now);
    // A refresh that outlived a newer one must not put older data back.
    if (!snapshot || loaded.fetchedAt >= snapshot.fetchedAt) snapshot = loaded;
    failingSince = null;
  } catch {
    failingSince ??= now;
    // Never seen the list: fail closed at once.
    if (!snapshot) throw unavailable("revocation list unavailable");
  } finally {
    refreshingSince = null;
  }
  return servable(snapshot, now, maxStaleMs);
}

export async function assertNotRevoked(
  source: RevocationSource,
  jti: string,
  agentId: string,
  now: number,
  maxStaleMs: number,
): Promise<void> {
  const list = await current(source, now, maxStaleMs);
  if (list.jtis.has(jti) || list.agentIds.has(agentId)) throw new RelayError("revoked", "identity revoked");
}

/** After this isolate records a revocation, apply it here at once. */
export function forgetRevocationSnapshot(): void {
  snapshot = null;
  failingSince = null;
}

/**
 * How this isolate's copy stands, for the operator views: `fresh` (the last refresh worked),
 * `stale` (refreshes fail, the copy is still served), `expired` (refreshes fail and the copy is
 * past the bound: agent requests get 503), `unloaded` (never loaded here).
 */
export interface RevocationListHealth {
  state: "fresh" | "stale" | "expired" | "unloaded";
  loadedAt: number | null;
  ageSeconds: number | null;
  failingSince: number | null;
  maxStaleSeconds: number;
}

export function revocationListHealth(now: number, maxStaleMs: number): RevocationListHealth {
  const base = { failingSince, maxStaleSeconds: maxStaleMs / 1000 };
  if (!snapshot) return { state: "unloaded", loadedAt: null, ageSeconds: null, ...base };
  const ageMs = Math.max(0, now - snapshot.fetchedAt);
  const state = failingSince === null ? "fresh" : ageMs > maxStaleMs ? "expired" : "stale";
  return { state, loadedAt: snapshot.fetchedAt, ageSeconds: ageMs / 1000, ...base };
}

/** The operator views' probe: refresh when due (never throwing), so they report what a request would meet. */
export async function probeRevocations(
  source: RevocationSource,
  now: number,
  maxStaleMs: number,
): Promise<RevocationListHealth> {
  try {
    await current(source, now, maxStaleMs);
  } catch {
    // The health below says why.
  }
  return revocationListHealth(now, maxStaleMs);
}
