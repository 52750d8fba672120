import type { PeerRule, PolicyBody } from "@clawrelay/protocol";
import type { RelayConfig } from "../../config.js";
import type { Meta } from "../storage/meta.js";

export interface EffectiveRule {
  allow: boolean;
  ratePerMinute: number;
  burst: number;
  senderShare: number;
  ttlSeconds: number | null;
}

/** Per-peer policy (PROTOCOL.md §5): a peer's own rule over the policy defaults over the relay vars. */
export function effectiveRule(meta: Meta, config: RelayConfig, sender: string): EffectiveRule {
  const policy = meta.getJson<PolicyBody>("policy");
  const rule: PeerRule = { ...(policy?.defaults ?? {}), ...(policy?.peers?.[sender] ?? {}) };
  return {
    allow: rule.allow ?? true,
    ratePerMinute: rule.ratePerMinute ?? config.RELAY_RATE_PER_MINUTE,
    burst: rule.burst ?? config.RELAY_RATE_BURST,
    senderShare: rule.senderShare ?? config.RELAY_SENDER_SHARE,
    ttlSeconds: rule.ttlSeconds ?? null,
  };
}
