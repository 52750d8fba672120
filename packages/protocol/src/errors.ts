import { z } from "zod";

/** Every error code of PROTOCOL.md §4 with its HTTP status. One map, used by the Worker, the DO and the connector. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  digest_mismatch: 400,
  missing_credentials: 401,
  invalid_token: 401,
  token_expired: 401,
  revoked: 401,
  timestamp_skew: 401,
  invalid_signature: 401,
  replayed_nonce: 401,
  sender_blocked: 403,
  not_owner: 403,
  /** Connector loopback API (PROTOCOL.md §8): a browser's request, or a Host that is not the listen address. */
  forbidden_origin: 403,
  unknown_recipient: 404,
  not_found: 404,
  method_not_allowed: 405,
  idempotency_key_reused: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  queue_full: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const errorCodeSchema = z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]);

/** Codes whose answers carry `Retry-After` (PROTOCOL.md §4: 429, 503, 507). */
export const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503, 507]);

export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
    correlationId: z.string(),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** A failure with a protocol code. Thrown anywhere; one handler turns it into the JSON error shape. */
export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  constructor(code: ErrorCode, message: string, options: { retryAfterSeconds?: number } = {}) {
    super(message);
    this.name = "RelayError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** Plain data form, safe to pass over DO RPC (class identity does not survive RPC). */
  toFailure(): Failure {
    return {
      ok: false,
      code: this.code,
      message: this.message,
      ...(this.retryAfterSeconds !== undefined ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
    };
  }

  static fromFailure(failure: Failure): RelayError {
    return new RelayError(
      failure.code,
      failure.message,
      failure.retryAfterSeconds !== undefined ? { retryAfterSeconds: failure.retryAfterSeconds } : {},
    );
  }
}

export interface Failure {
  ok: false;
  code: ErrorCode;
  message: string;
  retryAfterSeconds?: number;
}
export type Outcome<T> = { ok: true; value: T } | Failure;

/** WebSocket close codes of PROTOCOL.md §6, used by the relay session and the connector alike. */
export const CLOSE_CODES = {
  normal: 1000,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  superseded: 4001,
  credentials: 4003,
} as const;
