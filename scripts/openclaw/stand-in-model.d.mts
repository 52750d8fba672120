export const STAND_IN_MODEL_ID: string;
export function contentText(content: unknown): string;
export interface ChatMessage {
  role: string;
  content: unknown;
  tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}
export interface ModelRequest {
  at: number;
  /** The turn's text: the last user message that is not one of OpenClaw's internal-context blocks. */
  userText: string;
  /** Results of tool calls made after that message, in order. */
  toolResults: string[];
  /** Names of the tools offered in this request. */
  tools: string[];
  /** The session the request belongs to (`agent:main:hook:…`), from the session's first turn; null if not seen. */
  sessionKey: string | null;
  system: string;
  messages: ChatMessage[];
  body: Record<string, unknown>;
  /** When the streamed answer was written out: `answeredAt - at` is the stand-in's own time. */
  answeredAt?: number;
  /** What the script answered. */
  answer?: ModelAnswer;
}
export type ModelAnswer = { text: string; tool?: undefined } | { tool: string; args?: Record<string, unknown> };
export type ModelScript = (request: ModelRequest) => ModelAnswer | undefined;
export function describeRequest(body: unknown): Omit<ModelRequest, "at" | "body" | "answer">;
export class StandInModel {
  constructor(options?: { script?: ModelScript; maxToolCalls?: number; model?: string });
  script: ModelScript;
  maxToolCalls: number;
  requests: ModelRequest[];
  url: string;
  port: number;
  onRequest: ((request: ModelRequest) => void) | null;
  start(port?: number): Promise<this>;
  waitFor(predicate: (model: StandInModel) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}
