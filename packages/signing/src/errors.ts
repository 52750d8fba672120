/** `invalid_signature` is only used for receipt tokens from a trusted relay whose signature fails. */
export type TokenErrorCode = "invalid_token" | "token_expired" | "invalid_signature";

/** A rejected identity or receipt token. `code` is the protocol error code; the message never holds the token. */
export class TokenError extends Error {
  readonly code: TokenErrorCode;
  constructor(code: TokenErrorCode, message: string) {
    super(message);
    this.name = "TokenError";
    this.code = code;
  }
}
