import type { ModelAnswer, ModelRequest, ModelScript } from "./stand-in-model.mjs";
export function hookText(userText: string): string;
export interface MessageTurn {
  from: string;
  messageId: string | null;
  conversationId: string | null;
  inReplyTo: string | null;
  /** The message's own text. */
  body: string;
  text: string;
}
export interface ReceiptTurn {
  peer: string;
  messageId: string | null;
  conversationId: string | null;
  /** "expired after 6 s: …" */
  outcome: string;
  text: string;
}
export function messageTurn(userText: string): MessageTurn | null;
export function receiptTurn(userText: string): ReceiptTurn | null;
export function agentScript(handlers?: {
  onUser?: (text: string, request: ModelRequest) => ModelAnswer | undefined;
  onMessage?: (message: MessageTurn, request: ModelRequest) => ModelAnswer | undefined;
  onReceipt?: (receipt: ReceiptTurn, request: ModelRequest) => ModelAnswer | undefined;
}): ModelScript;
