import { PROTOCOL_LIMITS, RELAY_DEFAULTS, RELAY_GUARD_DEFAULTS } from "@clawrelay/protocol";
import { z } from "zod";
import { setLogLevel } from "./log.js";

/**
 * Vars arrive as strings (wrangler.toml [vars], .dev.vars, --env-file): parse them once per env
 * object, with zod, and fail loudly naming the bad var rather than run with a half-read config.
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const ratio = z.coerce.number().gt(0).max(1);

const jwkSchema = z.looseObject({ kty: z.string(), kid: z.string().optional() });
const jwksSchema = z.object({ keys: z.array(jwkSchema) });
const jsonString = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "not valid JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);

const trustedRelaySchema = z.union([
  z.object({ origin: z.url(), jwks: jwksSchema }),
  z.object({ origin: z.url(), jwksUrl: z.url() }),
]);

const configSchema = z.object({
  RELAY_AUDIENCE: z.string().min(1).default(RELAY_DEFAULTS.RELAY_AUDIENCE),
  RELAY_ORIGIN: z.url().transform((u) => new URL(u).origin),
  REGISTRY_JWKS: jsonString(z.record(z.string(), jwksSchema)).default({}),
  TRUSTED_RELAYS: jsonString(z.array(trustedRelaySchema)).default([]),
  /** Public keys of retired receipt-signing keys, still published (JWKS JSON). */
  RELAY_RETIRED_JWKS: jsonString(jwksSchema).default({ keys: [] }),
  RELAY_MAX_BODY_BYTES: int(1, 16 * 1024 * 1024).default(RELAY_DEFAULTS.RELAY_MAX_BODY_BYTES),
  RELAY_DEFAULT_TTL_SECONDS: int(1, 604_800).default(RELAY_DEFAULTS.RELAY_DEFAULT_TTL_SECONDS),
  RELAY_QUEUE_MAX_ITEMS: int(1, 10_000_000).default(RELAY_DEFAULTS.RELAY_QUEUE_MAX_ITEMS),
  RELAY_QUEUE_MAX_BYTES: int(1024, 10 * 1024 ** 3).default(RELAY_DEFAULTS.RELAY_QUEUE_MAX_BYTES),
  RELAY_LOW_LANE_ADMIT_RATIO: ratio.default(RELAY_DEFAULTS.RELAY_LOW_LANE_ADMIT_RATIO),
  RELAY_SENDER_SHARE: ratio.default(RELAY_DEFAULTS.RELAY_SENDER_SHARE),
  RELAY_RATE_PER_MINUTE: int(1, 1_000_000).default(RELAY_DEFAULTS.RELAY_RATE_PER_MINUTE),
  RELAY_RATE_BURST: int(1, 1_000_000).default(RELAY_DEFAULTS.RELAY_RATE_BURST),
  RELAY_IDEMPOTENCY_SECONDS: int(1, 30 * 86_400).default(RELAY_DEFAULTS.RELAY_IDEMPOTENCY_SECONDS),
  RELAY_MAX_IN_FLIGHT: int(1, 100_000).default(RELAY_DEFAULTS.RELAY_MAX_IN_FLIGHT),
  RELAY_ACK_TIMEOUT_MS: int(100, 3_600_000).default(RELAY_DEFAULTS.RELAY_ACK_TIMEOUT_MS),
  RELAY_MAX_ATTEMPTS: int(1, 1000).default(RELAY_DEFAULTS.RELAY_MAX_ATTEMPTS),
  RELAY_STALE_AFTER_MS: int(1000, 3_600_000).default(RELAY_DEFAULTS.RELAY_STALE_AFTER_MS),
  /** While a standby is connected, an active socket silent this long is failed over (PROTOCOL.md §6). */
  RELAY_FAILOVER_AFTER_MS: int(1000, 3_600_000).default(RELAY_DEFAULTS.RELAY_FAILOVER_AFTER_MS),
  RELAY_DELAYED_NOTICE_SECONDS: int(1, 604_800).default(RELAY_DEFAULTS.RELAY_DELAYED_NOTICE_SECONDS),
  RELAY_RECORD_RETENTION_SECONDS: int(60, 30 * 86_400).default(RELAY_DEFAULTS.RELAY_RECORD_RETENTION_SECONDS),
  /** Receipts to other relays: first retry after twice this, doubling up to the max (PROTOCOL.md §7). */
  RELAY_RECEIPT_RETRY_BASE_MS: int(10, 3_600_000).default(1_000),
  RELAY_RECEIPT_RETRY_MAX_MS: int(100, 86_400_000).default(600_000),
  /** How long a destination's breaker stays open before one attempt probes it. */
  RELAY_RECEIPT_BREAKER_OPEN_MS: int(100, 3_600_000).default(PROTOCOL_LIMITS.breakerOpenMs),
  /** Past this age a revocation list that cannot be refreshed stops being served: agent requests get 503. */
  RELAY_REVOCATION_MAX_STALE_SECONDS: int(60, 86_400).default(RELAY_GUARD_DEFAULTS.RELAY_REVOCATION_MAX_STALE_SECONDS),
  /** Dashboard sign-in: this many failures per client address within the window, then 429. */
  RELAY_LOGIN_MAX_FAILURES: int(1, 1000).default(RELAY_GUARD_DEFAULTS.RELAY_LOGIN_MAX_FAILURES),
  RELAY_LOGIN_WINDOW_SECONDS: int(1, 86_400).default(RELAY_GUARD_DEFAULTS.RELAY_LOGIN_WINDOW_SECONDS),
  /**
   * Per-agent series in /v1/metrics: `all`, `none`, or a number N — only the N agents with the most
   * queued and failing (clawrelay_metrics_agent_series_dropped counts the rest). At 10,000 agents
   * `all` is ~130,000 series.
   */
  RELAY_METRICS_AGENT_SERIES: z.union([z.enum(["all", "none"]), int(1, 1_000_000)]).default("all"),
  /** The lowest log level written: per-message lines are `info`. */
  RELAY_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  ADMIN_TOKEN: z.string().min(16).optional(),
  RELAY_SIGNING_JWK: z.string().optional(),
});

export type RelayConfig = z.output<typeof configSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
  /** One entry per bad var, `VAR: rule` (never its value), for /healthz to list. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid relay configuration: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

const parsed = new WeakMap<object, RelayConfig>();

/** Parse the Worker/DO env once; later calls with the same env object reuse the result. */
export function relayConfig(env: Env): RelayConfig {
  const cached = parsed.get(env);
  if (cached) return cached;
  const result = configSchema.safeParse(env);
  if (!result.success) {
    // Name the var and the rule, never the value: a var may hold a secret.
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  parsed.set(env, result.data);
  setLogLevel(result.data.RELAY_LOG_LEVEL);
  return result.data;
}
