import { type ConnectorConfig, OPENCLAW_DEFAULTS } from "../config.js";
import { clawrelayFormat } from "./clawrelay.js";
import { openClawFormat } from "./openclaw.js";
import type { SessionKeyLookup } from "./session-key.js";
import type { HookFormat } from "./types.js";

export type { SessionKeyLookup } from "./session-key.js";
export type { HookFormat, HookFormatName, HookRequest, HookResult } from "./types.js";

/** The configured hook format (the config schema has already required what each one needs). */
export function createHookFormat(config: ConnectorConfig, lookup?: SessionKeyLookup): HookFormat {
  if (config.hookFormat === "openclaw") {
    const openclaw = config.openclaw;
    if (!openclaw) throw new Error("hookFormat openclaw needs an openclaw section");
    const timeoutMs =
      openclaw.timeoutMs ?? (openclaw.waitForCompletion ? OPENCLAW_DEFAULTS.turnTimeoutMs : config.hookTimeoutMs);
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
  const { hookUrl, receiptHookUrl } = config;
  if (!hookUrl || !receiptHookUrl) throw new Error("hookFormat clawrelay needs a hookUrl");
  return clawrelayFormat({
    messageUrl: hookUrl,
    receiptUrl: receiptHookUrl,
    token: config.hookToken,
    timeoutMs: config.hookTimeoutMs,
  });
}
