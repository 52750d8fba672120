import { metricsShardOf, RelayError } from "@clawrelay/protocol";
import { registryShardStub } from "../platform/stubs.js";

/**
 * An agent id belongs to the registry that first made it known (or the registries an admin
 * allowed): a token for the same id from another trusted registry is refused 401 invalid_token.
 * Without this, any trusted registry could mint a known agent's id and send as it.
 *
 * The bindings live in Directory shards, never in a relay session; each isolate caches an id's
 * binding for REGISTRY_CACHE_MS, so an admin's change applies everywhere within that (the admin's
 * own isolate at once) and a request costs a shard read only the first time in a while.
 */
export const REGISTRY_CACHE_MS = 30_000;
export const REGISTRY_SHARDS = 16;
const MAX_ENTRIES = 10_000;

export interface RegistrySource {
  registriesOf(agentId: string): Promise<string[] | null>;
  bindRegistry(agentId: string, iss: string): Promise<string[]>;
  setRegistries(agentId: string, registries: string[]): Promise<string[]>;
}

/**
 * The id's Directory shard, its stub made on first use: nearly every signed request is answered
 * from the isolate's cache below, and making the stub anyway (a hash, `idFromName`, `get`) was
 * about 1 % of workerd's CPU per message (issue 18).
 */
export function directoryRegistries(env: Env, agentId: string): RegistrySource {
  let stub: RegistrySource | null = null;
  const shard = () => {
    stub ??= registryShardStub(env, metricsShardOf(agentId, REGISTRY_SHARDS));
    return stub;
  };
  return {
    registriesOf: (id) => shard().registriesOf(id),
    bindRegistry: (id, iss) => shard().bindRegistry(id, iss),
    setRegistries: (id, registries) => shard().setRegistries(id, registries),
  };
}

const cache = new Map<string, { registries: string[] | null; fetchedAt: number }>();

function remember(agentId: string, registries: string[] | null, now: number): void {
  cache.delete(agentId);
  if (cache.size >= MAX_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(agentId, { registries, fetchedAt: now });
}

/** The id's allowed registries (null: bound to none yet), from the cache or its shard. */
async function registriesOf(source: RegistrySource, agentId: string, now: number): Promise<string[] | null> {
  const hit = cache.get(agentId);
  if (hit && now - hit.fetchedAt < REGISTRY_CACHE_MS) return hit.registries;
  try {
    const registries = await source.registriesOf(agentId);
    remember(agentId, registries, now);
    return registries;
  } catch {
    // An older answer beats refusing everyone while one shard is away; with none, fail closed.
    if (hit) return hit.registries;
    throw new RelayError("unavailable", "registry bindings unavailable", { retryAfterSeconds: 5 });
  }
}

const refused = () => new RelayError("invalid_token", "identity token rejected");

/**
 * The token step's binding check. Answers whether the id is still unbound, so that the caller
 * binds it (`bindFirst`) once the request's signature has verified.
 */
export async function assertRegistryAllowed(
  source: RegistrySource,
  agentId: string,
  iss: string,
  now: number,
): Promise<{ unbound: boolean }> {
  const registries = await registriesOf(source, agentId, now);
  if (registries !== null && !registries.includes(iss)) throw refused();
  return { unbound: registries === null };
}

/** A verified request of an unbound id to its own id: the first registry wins (a race lost is refused). */
export async function bindFirst(source: RegistrySource, agentId: string, iss: string, now: number): Promise<void> {
  let registries: string[];
  try {
    registries = await source.bindRegistry(agentId, iss);
  } catch {
    throw new RelayError("unavailable", "registry bindings unavailable", { retryAfterSeconds: 5 });
  }
  remember(agentId, registries, now);
  if (!registries.includes(iss)) throw refused();
}

/** After an admin changed an id's registries, this isolate applies it at once. */
export function forgetRegistryBinding(agentId: string): void {
  cache.delete(agentId);
}
