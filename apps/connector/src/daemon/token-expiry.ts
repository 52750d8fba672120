import type { Logger } from "pino";
import type { Clock, TimerHandle } from "./clock.js";

/**
 * Watches the identity token's `exp`: a token that runs out stops the connector (the relay closes
 * with 4003 and it does not reconnect), so the operator is told well before — a `warn` log line
 * `identity_token_expiring` on entering the warning window and once a day after, an `error`
 * `identity_token_expired` at expiry, and the same facts in /v1/status and the §6 health frame.
 */
export interface TokenExpiryOptions {
  /** The token's `exp` in ms; null when unknown (a signer injected without one). */
  expiresAt: number | null;
  warnBeforeMs: number;
  agentId: string;
  clock: Clock;
  logger: Logger;
}

export interface TokenExpiryStatus {
  tokenExpiresAt: number | null;
  /** Within the warning window, or past `exp`. */
  tokenExpiring: boolean;
  tokenExpired: boolean;
}

/** Checked at least this often, which also keeps every timer far below setTimeout's 24.8-day limit. */
const CHECK_EVERY_MS = 3_600_000;
const REPEAT_WARNING_MS = 86_400_000;

export class TokenExpiryWatch {
  private timer: TimerHandle | null = null;
  private lastWarnedAt: number | null = null;
  private reportedExpired = false;

  constructor(private readonly options: TokenExpiryOptions) {}

  start(): void {
    this.check();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  status(now = this.options.clock.now()): TokenExpiryStatus {
    const { expiresAt, warnBeforeMs } = this.options;
    return {
      tokenExpiresAt: expiresAt,
      tokenExpiring: expiresAt !== null && now >= expiresAt - warnBeforeMs,
      tokenExpired: expiresAt !== null && now >= expiresAt,
    };
  }

  private check(): void {
    const { expiresAt, warnBeforeMs, agentId, clock, logger } = this.options;
    if (expiresAt === null) return;
    const now = clock.now();
    const fields = { agentId, expiresAt: new Date(expiresAt).toISOString(), expiresInMs: expiresAt - now };
    const renew = `run "clawrelay agent renew ${agentId}" where the registry key is, put the new identity.jwt in this connector's identityDir and restart it`;
    if (now >= expiresAt) {
      if (!this.reportedExpired) {
        this.reportedExpired = true;
        logger.error({ event: "identity_token_expired", ...fields }, `the identity token has expired: ${renew}`);
      }
      return;
    }
    const warnFrom = expiresAt - warnBeforeMs;
    if (now >= warnFrom && (this.lastWarnedAt === null || now - this.lastWarnedAt >= REPEAT_WARNING_MS)) {
      this.lastWarnedAt = now;
      logger.warn({ event: "identity_token_expiring", ...fields }, `the identity token expires soon: ${renew}`);
    }
    // Next: the hourly check, or the moment the window opens or the token runs out if sooner.
    const next = Math.min(CHECK_EVERY_MS, ...[warnFrom - now, expiresAt - now].filter((delay) => delay > 0));
    this.timer = clock.setTimeout(() => this.check(), next);
  }
}
