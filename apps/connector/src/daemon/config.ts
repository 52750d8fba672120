import { readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import {
  agentIdSchema,
  CONNECTOR_DEFAULTS,
  PROTOCOL_LIMITS,
  RELAY_DEFAULTS,
  type ReceiptStatus,
  receiptStatusSchema,
} from "@clawrelay/protocol";
import { z } from "zod";
import { ENV_OVERRIDES, envValue, setPath } from "./config-env.js";
import { HOOK_SECRET_RULE, hookSecretKey } from "./hook-signing.js";
import { assertPrivateMode } from "./secret-files.js";

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });
const positiveMs = (fallback: number) => z.number().int().min(1).max(86_400_000).default(fallback);
const count = (fallback: number, max: number) => z.number().int().min(1).max(max).default(fallback);

/** Defaults of the `openclaw` hook format (PROTOCOL.md §8 "Hook formats", docs/OPENCLAW.md). */
export const OPENCLAW_DEFAULTS = {
  hooksPath: "/hooks",
  sessionKeyPrefix: "hook:clawrelay:",
  waitForCompletion: true,
  /** Receipts that become a turn in the sender's session: the failures, and a long wait. */
  receiptTurns: ["failed", "expired", "shed", "dead_lettered", "delayed"] as ReceiptStatus[],
  /** Waiting for completion means waiting for a whole agent turn; the gateway drains one for up to ~5 min. */
  turnTimeoutMs: 300_000,
};

const openClawSchema = z.strictObject({
  url: httpUrl,
  hooksPath: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]*$/, "must be a URL path starting with /")
    .default(OPENCLAW_DEFAULTS.hooksPath),
  token: z.string().min(1).max(4096),
  agentId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 characters of A-Z a-z 0-9 . _ -")
    .optional(),
  sessionKeyPrefix: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/, "must be 1-64 characters of A-Z a-z 0-9 : . _ -")
    .default(OPENCLAW_DEFAULTS.sessionKeyPrefix),
  waitForCompletion: z.boolean().default(OPENCLAW_DEFAULTS.waitForCompletion),
  receiptTurns: z
    .array(receiptStatusSchema)
    .max(16)
    .default(() => [...OPENCLAW_DEFAULTS.receiptTurns]),
  /** Default: hookTimeoutMs, or turnTimeoutMs when waiting for completion. */
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
});

/** The connector's JSON config file, documented field by field in apps/connector/README.md. */
export const connectorConfigSchema = z
  .strictObject({
    agentId: agentIdSchema,
    identityDir: z.string().min(1),
    relayUrls: z.array(httpUrl).min(1, "needs at least one relay URL").max(16),
    /**
     * Other relays a message may name as `toRelay`. Signed requests carry the identity token, so
     * they go only to these and to `relayUrls` (PROTOCOL.md §8, SECURITY.md).
     */
    trustedRelays: z.array(httpUrl).max(64).default([]),
    dataDir: z.string().min(1),
    listen: z
      .strictObject({
        host: z.string().min(1).default(CONNECTOR_DEFAULTS.listenHost),
        port: z.number().int().min(0).max(65_535).default(CONNECTOR_DEFAULTS.listenPort),
      })
      .default({ host: CONNECTOR_DEFAULTS.listenHost, port: CONNECTOR_DEFAULTS.listenPort }),
    /** The local API's bearer token; without it one is made on first start in `<dataDir>/api-token`. */
    apiToken: z
      .string()
      .regex(/^[\x21-\x7e]{16,512}$/, "must be 16-512 printable characters without spaces")
      .optional(),
    hookFormat: z.enum(["clawrelay", "openclaw"]).default("clawrelay"),
    /** The agent's webhook; required by the `clawrelay` format only. */
    hookUrl: httpUrl.optional(),
    receiptHookUrl: httpUrl.optional(),
    hookToken: z.string().min(1).max(4096).optional(),
    /** Signs every hook call (PROTOCOL.md §8, Standard Webhooks); `connector init` makes one. */
    hookSecret: z
      .string()
      .refine((value) => hookSecretKey(value) !== null, HOOK_SECRET_RULE)
      .optional(),
    openclaw: openClawSchema.optional(),
    hookTimeoutMs: positiveMs(10_000),
    hookMaxAttempts: count(10, 1000),
    hookBackoffBaseMs: positiveMs(1_000),
    hookBackoffMaxMs: positiveMs(60_000),
    hookBreakerFailures: count(CONNECTOR_DEFAULTS.hookBreakerFailures, 1000),
    hookBreakerOpenMs: positiveMs(CONNECTOR_DEFAULTS.hookBreakerOpenMs),
    hookConcurrency: count(1, 64),
    takeover: z.boolean().default(false),
    connectorId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1-128 characters of A-Z a-z 0-9 . _ : -")
      .optional(),
    inboxMaxItems: count(10_000, 10_000_000),
    dedupWindowSeconds: count(PROTOCOL_LIMITS.inboxDedupSeconds, 365 * 86_400),
    outboxMaxItems: count(10_000, 10_000_000),
    outboxConcurrency: count(4, 64),
    outboxBackoffBaseMs: positiveMs(1_000),
    outboxBackoffMaxMs: positiveMs(60_000),
    outboxBreakerFailures: count(CONNECTOR_DEFAULTS.outboxBreakerFailures, 1000),
    outboxBreakerOpenMs: positiveMs(CONNECTOR_DEFAULTS.outboxBreakerOpenMs),
    defaultTtlSeconds: count(RELAY_DEFAULTS.RELAY_DEFAULT_TTL_SECONDS, PROTOCOL_LIMITS.maxTtlSeconds),
    relayTimeoutMs: positiveMs(15_000),
    connectTimeoutMs: positiveMs(15_000),
    reconnectMinMs: positiveMs(CONNECTOR_DEFAULTS.reconnectMinMs),
    reconnectMaxMs: positiveMs(CONNECTOR_DEFAULTS.reconnectMaxMs),
    reconnectResetAfterMs: positiveMs(CONNECTOR_DEFAULTS.reconnectResetAfterMs),
    reconnectFastMaxMs: positiveMs(CONNECTOR_DEFAULTS.reconnectFastMaxMs),
    reconnectFastWindowMs: positiveMs(CONNECTOR_DEFAULTS.reconnectFastWindowMs),
    reconnectFlapSessions: count(CONNECTOR_DEFAULTS.reconnectFlapSessions, 1000),
    pingIntervalMs: positiveMs(CONNECTOR_DEFAULTS.pingIntervalMs),
    pongTimeoutMs: positiveMs(CONNECTOR_DEFAULTS.pongTimeoutMs),
    shutdownGraceMs: positiveMs(3_000),
    /** Days before the identity token's `exp` that the connector starts warning. */
    tokenExpiryWarnDays: count(CONNECTOR_DEFAULTS.tokenExpiryWarnDays, 89),
    apiMaxBodyBytes: count(RELAY_DEFAULTS.RELAY_MAX_BODY_BYTES, 64 * 1_048_576),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .superRefine((config, context) => {
    if (config.hookFormat === "clawrelay" && config.hookUrl === undefined) {
      context.addIssue({ code: "custom", path: ["hookUrl"], message: "is required by hookFormat clawrelay" });
    }
    if (config.hookFormat === "openclaw" && config.openclaw === undefined) {
      context.addIssue({ code: "custom", path: ["openclaw"], message: "is required by hookFormat openclaw" });
    }
  })
  .transform((config) => ({ ...config, receiptHookUrl: config.receiptHookUrl ?? config.hookUrl }));

export type ConnectorConfigInput = z.input<typeof connectorConfigSchema>;
export type ConnectorConfig = z.output<typeof connectorConfigSchema>;
export type OpenClawConfig = z.output<typeof openClawSchema>;

export { ENV_OVERRIDES } from "./config-env.js";

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid connector config:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Validate a config object after applying environment overrides. Relative
 * `identityDir`/`dataDir` are resolved against `baseDir` (the config file's folder)
 * or, when they came from the environment, against the working directory.
 */
export function parseConnectorConfig(
  raw: unknown,
  options: { env?: NodeJS.ProcessEnv; baseDir?: string; source?: string } = {},
): ConnectorConfig {
  const env = options.env ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError([`${options.source ?? "config"}: must be a JSON object`]);
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  const fromEnv = new Map<string, string>();
  for (const override of ENV_OVERRIDES) {
    const value = env[override.variable];
    if (value === undefined || value === "") continue;
    setPath(merged, override.path, envValue(value, override.kind));
    fromEnv.set(override.path.join("."), override.variable);
  }
  const result = connectorConfigSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const field = issue.path.length > 0 ? issue.path.join(".") : "(root)";
      const nested = issue.path[0] === "listen" || issue.path[0] === "openclaw";
      const topField = issue.path.slice(0, nested ? 2 : 1).join(".");
      const variable = fromEnv.get(topField);
      return `${field}${variable ? ` (from ${variable})` : ""}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const config = result.data;
  const baseFor = (field: string) => (fromEnv.has(field) ? process.cwd() : (options.baseDir ?? process.cwd()));
  const absolute = (field: string, value: string) => (isAbsolute(value) ? value : resolve(baseFor(field), value));
  return {
    ...config,
    identityDir: absolute("identityDir", config.identityDir),
    dataDir: absolute("dataDir", config.dataDir),
  };
}

/** Read the JSON config file, apply CLAWRELAY_* overrides and validate. */
export async function loadConnectorConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConnectorConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError([`${path}: cannot read the config file (${code})`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError([`${path}: not valid JSON`]);
  }
  // A config holding the hook secret is a secret file like a key (LoosePermissionsError).
  if (typeof raw === "object" && raw !== null && "hookSecret" in raw) {
    assertPrivateMode(path, (await stat(path)).mode, "a hookSecret");
  }
  return parseConnectorConfig(raw, { env, baseDir: dirname(path), source: path });
}
