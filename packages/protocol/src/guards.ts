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
