/**
 * The CLAWRELAY_* environment overrides of the config file (apps/connector/README.md lists them):
 * which variable sets which field, and how its text becomes the field's value.
 */
type EnvKind = "string" | "integer" | "boolean" | "list";
export interface EnvOverride {
  variable: string;
  path: readonly string[];
  kind: EnvKind;
}

/** Every CLAWRELAY_* variable and the config field it overrides. */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { variable: "CLAWRELAY_AGENT_ID", path: ["agentId"], kind: "string" },
  { variable: "CLAWRELAY_IDENTITY_DIR", path: ["identityDir"], kind: "string" },
  { variable: "CLAWRELAY_RELAY_URLS", path: ["relayUrls"], kind: "list" },
  { variable: "CLAWRELAY_TRUSTED_RELAYS", path: ["trustedRelays"], kind: "list" },
  { variable: "CLAWRELAY_DATA_DIR", path: ["dataDir"], kind: "string" },
  { variable: "CLAWRELAY_LISTEN_HOST", path: ["listen", "host"], kind: "string" },
  { variable: "CLAWRELAY_LISTEN_PORT", path: ["listen", "port"], kind: "integer" },
  { variable: "CLAWRELAY_API_TOKEN", path: ["apiToken"], kind: "string" },
  { variable: "CLAWRELAY_HOOK_URL", path: ["hookUrl"], kind: "string" },
  { variable: "CLAWRELAY_RECEIPT_HOOK_URL", path: ["receiptHookUrl"], kind: "string" },
  { variable: "CLAWRELAY_HOOK_TOKEN", path: ["hookToken"], kind: "string" },
  { variable: "CLAWRELAY_HOOK_SECRET", path: ["hookSecret"], kind: "string" },
  { variable: "CLAWRELAY_HOOK_FORMAT", path: ["hookFormat"], kind: "string" },
  { variable: "CLAWRELAY_OPENCLAW_URL", path: ["openclaw", "url"], kind: "string" },
  { variable: "CLAWRELAY_OPENCLAW_HOOKS_PATH", path: ["openclaw", "hooksPath"], kind: "string" },
  { variable: "CLAWRELAY_OPENCLAW_TOKEN", path: ["openclaw", "token"], kind: "string" },
  { variable: "CLAWRELAY_OPENCLAW_AGENT_ID", path: ["openclaw", "agentId"], kind: "string" },
  { variable: "CLAWRELAY_OPENCLAW_SESSION_KEY_PREFIX", path: ["openclaw", "sessionKeyPrefix"], kind: "string" },
  { variable: "CLAWRELAY_OPENCLAW_WAIT_FOR_COMPLETION", path: ["openclaw", "waitForCompletion"], kind: "boolean" },
  { variable: "CLAWRELAY_OPENCLAW_RECEIPT_TURNS", path: ["openclaw", "receiptTurns"], kind: "list" },
  { variable: "CLAWRELAY_OPENCLAW_TIMEOUT_MS", path: ["openclaw", "timeoutMs"], kind: "integer" },
  { variable: "CLAWRELAY_TAKEOVER", path: ["takeover"], kind: "boolean" },
  { variable: "CLAWRELAY_CONNECTOR_ID", path: ["connectorId"], kind: "string" },
  { variable: "CLAWRELAY_LOG_LEVEL", path: ["logLevel"], kind: "string" },
  ...(
    [
      "hookTimeoutMs",
      "hookMaxAttempts",
      "hookBackoffBaseMs",
      "hookBackoffMaxMs",
      "hookBreakerFailures",
      "hookBreakerOpenMs",
      "hookConcurrency",
      "inboxMaxItems",
      "dedupWindowSeconds",
      "outboxMaxItems",
      "outboxConcurrency",
      "outboxBackoffBaseMs",
      "outboxBackoffMaxMs",
      "outboxBreakerFailures",
      "outboxBreakerOpenMs",
      "defaultTtlSeconds",
      "relayTimeoutMs",
      "connectTimeoutMs",
      "reconnectMinMs",
      "reconnectMaxMs",
      "reconnectResetAfterMs",
      "reconnectFastMaxMs",
      "reconnectFastWindowMs",
      "reconnectFlapSessions",
      "pingIntervalMs",
      "pongTimeoutMs",
      "shutdownGraceMs",
      "tokenExpiryWarnDays",
      "apiMaxBodyBytes",
    ] as const
  ).map((field) => ({ variable: `CLAWRELAY_${toScreamingSnake(field)}`, path: [field], kind: "integer" as const })),
];

function toScreamingSnake(camel: string): string {
  return camel.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

export function envValue(raw: string, kind: EnvKind): unknown {
  const text = raw.trim();
  switch (kind) {
    case "string":
      return text;
    case "list":
      return text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part.length > 0);
    case "integer":
      // Left as a string when not an integer, so the schema reports the field by name.
      return /^-?\d+$/.test(text) ? Number(text) : text;
    case "boolean":
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      return text;
  }
}

export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cursor = target;
  for (const key of path.slice(0, -1)) {
    const next = cursor[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) cursor[key] = {};
    cursor = cursor[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) cursor[last] = value;
}
