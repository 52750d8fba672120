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
let inflight: Promise<RevocationSnapshot> | null = null;

export interface RevocationSource {
  listRevocations(): Promise<{ jtis: string[]; agentIds: string[] }>;
}

async function load(source: RevocationSource, now: number): Promise<RevocationSnapshot> {
  const list = await source.listRevocations();
  return { fetchedAt: now, jtis: new Set(list.jtis), agentIds: new Set(list.agentIds) };
}

async function current(source: RevocationSource, now: number): Promise<RevocationSnapshot> {
  if (snapshot && now - snapshot.fetchedAt < REVOCATION_REFRESH_MS) return snapshot;
  if (!inflight) {
    inflight = load(source, now).finally(() => {
      inflight = null;
    });
  }
  try {
    snapshot = await inflight;
  } catch {
    // Fail closed only when we have never seen the list; otherwise serve the last copy
    // rather than take every agent down with the directory.
    if (!snapshot) throw new RelayError("unavailable", "revocation list unavailable", { retryAfterSeconds: 5 });
  }
  return snapshot as RevocationSnapshot;
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
