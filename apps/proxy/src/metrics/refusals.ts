import { type ErrorCode, metricsShardOf } from "@clawrelay/protocol";
import { log } from "../log.js";
import { metricsShardStub } from "../platform/stubs.js";
import { hourOf } from "./periods.js";
import type { RefusalCount } from "./refusal-store.js";

/**
 * A refused request costs the Worker no Durable Object write of its own: each isolate adds its
 * refusals up in memory and sends them to the metrics shards at most every REFUSAL_FLUSH_MS (and
 * when an operator view is read), so a flood of bad requests makes a bounded number of shard
 * writes however fast it comes. The shard is chosen by the code, never by the path's agent id.
 * What an isolate holds when it is evicted is lost: these are counts for the operator, not a ledger.
 */
export const REFUSAL_FLUSH_MS = 5_000;

const pending = new Map<string, RefusalCount>();
let lastFlushAt = Number.NEGATIVE_INFINITY;

function add(entry: RefusalCount): void {
  const key = `${entry.hour}/${entry.code}`;
  const held = pending.get(key);
  if (held) held.count += entry.count;
  else pending.set(key, { ...entry });
}

/**
 * Counts one refusal. `waitUntil` is the request's own (a flush is never a promise another
 * request waits on); without one (a unit test's bare app.request) the count waits for the next flush.
 */
export function countRefusal(
  env: Env,
  code: ErrorCode,
  now: number,
  waitUntil: ((work: Promise<unknown>) => void) | null,
): void {
  add({ hour: hourOf(now), code, count: 1 });
  if (waitUntil === null || now - lastFlushAt < REFUSAL_FLUSH_MS) return;
  lastFlushAt = now;
  waitUntil(flushRefusals(env, "refusal_flush"));
}

/** Sends everything held to the shards; a batch a shard did not take is held again for the next flush. */
export async function flushRefusals(env: Env, correlationId: string): Promise<void> {
  if (pending.size === 0) return;
  const byShard = new Map<number, RefusalCount[]>();
  for (const entry of pending.values()) {
    const shard = metricsShardOf(entry.code);
    byShard.set(shard, [...(byShard.get(shard) ?? []), entry]);
  }
  pending.clear();
  await Promise.all(
    [...byShard].map(async ([shard, entries]) => {
      try {
        await metricsShardStub(env, shard).recordRefusals(entries);
      } catch (err) {
        for (const entry of entries) add(entry);
        log("warn", {
          event: "refusal_flush_failed",
          correlationId,
          shard,
          error: err instanceof Error ? err.message : "unknown",
        });
      }
    }),
  );
}
