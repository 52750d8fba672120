/**
 * Structured JSON logs (Workers Logs indexes JSON lines). Every line names its `event`;
 * callers add `correlationId`, `messageId`, `agentId`, `hop`. Never pass secrets here.
 */
export type LogFields = {
  event: string;
  correlationId?: string;
  messageId?: string;
  agentId?: string;
  hop?: string;
} & Record<string, unknown>;

export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold = RANK.info;

/**
 * The lowest level written (var RELAY_LOG_LEVEL, default info), set once per isolate when the
 * config is read. Each `console.*` line has a cost in the runtime (and under `wrangler dev` a
 * larger one in its Node process); an operator who does not want per-message lines can drop them.
 */
export function setLogLevel(level: LogLevel): void {
  threshold = RANK[level];
}

export function log(level: LogLevel, fields: LogFields): void {
  if (RANK[level] < threshold) return;
  const line = JSON.stringify({ level, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
