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

export function log(level: "debug" | "info" | "warn" | "error", fields: LogFields): void {
  const line = JSON.stringify({ level, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
