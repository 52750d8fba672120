import { OPENCLAW_DEFAULTS, type OpenClawConfig } from "../config.js";
import { clawrelayFormat } from "./clawrelay.js";
import { openClawFormat } from "./openclaw.js";
import type { SessionKeyLookup } from "./session-key.js";
import type { HookFormat, HookFormatName } from "./types.js";

export type { SessionKeyLookup } from "./session-key.js";
export type { HookFormat, HookFormatName, HookRequest, HookResult } from "./types.js";

/** Where hook calls go: the hook part of the config (config-groups.ts). */
export interface HookTargetConfig {
  format: HookFormatName;
  /** The agent's webhook; required by the `clawrelay` format only. */
  url: string | undefined;
  receiptUrl: string | undefined;
  token: string | undefined;
  timeoutMs: number;
  openclaw: OpenClawConfig | undefined;
}

/** The configured hook format (the config schema has already required what each one needs). */
export function createHookFormat(target: HookTargetConfig, lookup?: SessionKeyLookup): HookFormat {
  if (target.format === "openclaw") {
    const openclaw = target.openclaw;
    if (!openclaw) throw new Error("hookFormat openclaw needs an openclaw section");
    const timeoutMs =
      openclaw.timeoutMs ?? (openclaw.waitForCompletion ? OPENCLAW_DEFAULTS.turnTimeoutMs : target.timeoutMs);
    return openClawFormat(
      {
        url: openclaw.url,
        hooksPath: openclaw.hooksPath,
        token: openclaw.token,
        agentId: openclaw.agentId,
        sessionKeyPrefix: openclaw.sessionKeyPrefix,
        waitForCompletion: openclaw.waitForCompletion,
        receiptTurns: openclaw.receiptTurns,
        timeoutMs,
      },
      lookup,
    );
  }
  const { url, receiptUrl } = target;
  if (!url || !receiptUrl) throw new Error("hookFormat clawrelay needs a hookUrl");
  return clawrelayFormat({
    messageUrl: url,
    receiptUrl,
    token: target.token,
    timeoutMs: target.timeoutMs,
  });
}
