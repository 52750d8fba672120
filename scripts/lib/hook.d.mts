import type { IncomingHttpHeaders } from "node:http";
export interface HookCall {
  at: number;
  body: {
    type: string;
    item?: {
      id: string;
      kind: string;
      correlationId?: string;
      from?: string;
      payload?: unknown;
      priority?: string;
      seq?: number;
    };
    receipt?: Record<string, unknown> & { status?: string; correlationId?: string; messageId?: string };
  };
  headers: IncomingHttpHeaders;
}
export type HookMode = "ok" | "fail" | "hang" | "hold";
export class StandInHook {
  constructor(options?: { keepCalls?: boolean });
  keepCalls: boolean;
  calls: HookCall[];
  mode: HookMode;
  url: string;
  onCall: ((call: HookCall) => void) | null;
  start(): Promise<this>;
  /** Back to "ok", answering every call held in "hold" mode with 204. */
  release(): void;
  messages(): HookCall[];
  receipts(): HookCall[];
  waitFor(predicate: (hook: StandInHook) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}
