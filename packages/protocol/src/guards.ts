/**
 * Defaults of the relay's abuse guards: configuration (wrangler vars) the protocol text leaves
 * to the relay; the reasoning behind each is in apps/proxy/README.md.
 */
export const RELAY_GUARD_DEFAULTS = {
  /** A revocation list that cannot be refreshed is served this long past its last load, then agent requests get 503. */
  RELAY_REVOCATION_MAX_STALE_SECONDS: 600,
  /** Failed dashboard sign-ins per client address within the window before 429. */
  RELAY_LOGIN_MAX_FAILURES: 10,
  RELAY_LOGIN_WINDOW_SECONDS: 60,
} as const;

/**
 * The relay's "needs attention" view of agents (`attention` in GET /v1/status): an agent whose
 * oldest waiting item — queued at the relay, or in its connector's inbox or outbox — is older than
 * `backlogAgeMs`, or whose identity token expires within `tokenExpiringMs`, is listed; at most
 * `listed` entries go out, the rest are only counted.
 */
export const RELAY_ATTENTION_DEFAULTS = {
  backlogAgeMs: 300_000,
  tokenExpiringMs: 7 * 86_400_000,
  listed: 100,
} as const;
