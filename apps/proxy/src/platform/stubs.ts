import type { Directory } from "../directory/directory.js";
import type { MetricsShard } from "../metrics/metrics-shard.js";
import type { RelaySession } from "../session/relay-session.js";

/** Every Durable Object the relay addresses, by the name that addresses it: the one place names are made. */

/** One agent's relay session. */
export function relaySessionStub(env: Env, agentId: string): DurableObjectStub<RelaySession> {
  return env.RELAY_SESSION.get(env.RELAY_SESSION.idFromName(agentId));
}

/** One of the metrics shards (0 … METRICS_SHARDS − 1). */
export function metricsShardStub(env: Env, shard: number): DurableObjectStub<MetricsShard> {
  return env.METRICS_SHARD.get(env.METRICS_SHARD.idFromName(`shard-${shard}`));
}

/** The relay-wide directory: revocations and the agent registry. */
export function directoryStub(env: Env): DurableObjectStub<Directory> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName("global"));
}

/** The directory shard that keeps the registry bindings of a shard of agent ids. */
export function registryShardStub(env: Env, shard: number): DurableObjectStub<Directory> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName(`registries-${shard}`));
}

/** The directory instance that counts dashboard login attempts. */
export function loginGuardStub(env: Env): DurableObjectStub<Directory> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName("dashboard-login"));
}
