import { DurableObject } from "cloudflare:workers";
import type { SessionSummary } from "@clawrelay/protocol";

/**
 * One shard of the operator aggregate: the latest summary of each session that hashes here.
 * Sessions report at most every 10 s; nothing on a message's path touches a shard.
 */
export class MetricsShard extends DurableObject<Env> {
  async report(_summary: SessionSummary): Promise<void> {}
}
