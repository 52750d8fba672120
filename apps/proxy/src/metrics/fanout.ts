import { METRICS_SHARDS } from "@clawrelay/protocol";
import { log } from "../log.js";
import { metricsShardStub } from "../platform/stubs.js";
import { mergeRollups, type ShardRollup } from "./aggregate.js";
import { flushRefusals } from "./refusals.js";

export interface ShardFailure {
  shard: number;
  reason: "timeout" | "error";
}

/** How long one shard may take before the views go on without it. */
export const SHARD_TIMEOUT_MS = 3_000;

class ShardTimeout extends Error {
  override name = "ShardTimeout";
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ShardTimeout(`no answer within ${ms} ms`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Asks every shard at once; a shard that fails or is slower than `timeoutMs` is reported in
 * `failed` instead of failing the whole answer.
 */
export async function fanOut<T>(
  shards: number,
  read: (shard: number) => Promise<T>,
  timeoutMs: number,
): Promise<{ answers: T[]; failed: ShardFailure[] }> {
  const settled = await Promise.all(
    Array.from({ length: shards }, async (_, shard) => {
      try {
        return { shard, ok: true as const, value: await withTimeout(read(shard), timeoutMs) };
      } catch (error) {
        return { shard, ok: false as const, reason: error instanceof ShardTimeout ? "timeout" : "error" } as const;
      }
    }),
  );
  const answers: T[] = [];
  const failed: ShardFailure[] = [];
  for (const result of settled) {
    if (result.ok) answers.push(result.value);
    else failed.push({ shard: result.shard, reason: result.reason });
  }
  return { answers, failed };
}

export interface OperatorView {
  merged: ShardRollup;
  failed: ShardFailure[];
}

/** The merged rollup of every shard that answered in time. */
export async function readOperatorView(
  env: Env,
  options: {
    now: number;
    includeAgents: boolean;
    /** With `includeAgents`: at most this many agent rows per shard (see `rollupShard`). */
    agentLimit?: number;
    correlationId: string;
    timeoutMs?: number;
    shards?: number;
  },
): Promise<OperatorView> {
  // This isolate's refusal counts first, so a view never lags what this isolate already refused.
  await flushRefusals(env, options.correlationId);
  const { answers, failed } = await fanOut(
    options.shards ?? METRICS_SHARDS,
    (shard) => metricsShardStub(env, shard).rollup(options.now, options.includeAgents, options.agentLimit),
    options.timeoutMs ?? SHARD_TIMEOUT_MS,
  );
  for (const failure of failed) {
    log("warn", { event: "metrics_shard_unavailable", correlationId: options.correlationId, ...failure });
  }
  return { merged: mergeRollups(answers, options.now), failed };
}
