import pino, { type DestinationStream, type Logger } from "pino";

/**
 * JSON logs, one object a line, each with an `event`. Secrets never reach them: the
 * redaction list is a backstop, the code does not pass tokens or keys to the logger.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "clawrelay-connector" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["authorization", "*.authorization", "headers.authorization", "token", "hookToken", "privateJwk", "*.d"],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
