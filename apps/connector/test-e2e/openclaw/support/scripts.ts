import {
  contentText,
  type ModelAnswer,
  type ModelRequest,
  type StandInModel,
} from "../../../../../scripts/openclaw/stand-in-model.mjs";
import { messageTurn, receiptTurn } from "../../../../../scripts/openclaw/turns.mjs";

/** The clawrelay plugin's send tool and its arguments (apps/openclaw-plugin). */
export const SEND_TOOL = "clawrelay_send";

export function sendArgs(args: {
  to?: string;
  text: string;
  inReplyTo?: string;
  ttlSeconds?: number;
  conversationId?: string;
}): ModelAnswer {
  return { tool: SEND_TOOL, args };
}

/**
 * What a person asks alice's agent, in words its scripted model understands:
 * "Please greet bob-oc." and "Send bob-oc [within N s] [in <conversation>]: <text>".
 */
export function userRequest(text: string): ModelAnswer | undefined {
  const greet = /^Please greet (\S+?)\.?$/.exec(text);
  if (greet?.[1]) return sendArgs({ to: greet[1], text: `Hello ${greet[1]}! How are you?` });
  const send = /^Send (\S+?)(?: within (\d+) s)?(?: in (\S+))?: ([\s\S]+)$/.exec(text);
  if (send?.[1] && send[4]) {
    return sendArgs({
      to: send[1],
      text: send[4],
      ...(send[2] ? { ttlSeconds: Number(send[2]) } : {}),
      ...(send[3] ? { conversationId: send[3] } : {}),
    });
  }
  return undefined;
}

/** The model requests of clawrelay message turns from `from` (each turn's first request). */
export function messageRequests(model: StandInModel, from: string): ModelRequest[] {
  return model.requests.filter((r) => r.toolResults.length === 0 && messageTurn(r.userText)?.from === from);
}

/** The model requests of clawrelay receipt turns about `peer` (each turn's first request). */
export function receiptRequests(model: StandInModel, peer: string): ModelRequest[] {
  return model.requests.filter((r) => r.toolResults.length === 0 && receiptTurn(r.userText)?.peer === peer);
}

/** Is this tool call one of the send tool (called directly or through OpenClaw's `tool_call`)? */
function callsSendTool(call: { function: { name: string; arguments: string } }): boolean {
  if (call.function.name === SEND_TOOL) return true;
  if (call.function.name !== "tool_call") return false;
  try {
    return (JSON.parse(call.function.arguments) as { id?: unknown }).id === SEND_TOOL;
  } catch {
    return false;
  }
}

/** Every result of the send tool the model was shown, by tool call id, in the order first seen. */
export function sendResults(model: StandInModel): string[] {
  const results = new Map<string, string>();
  for (const request of model.requests) {
    const sendCalls = new Set(
      request.messages.flatMap((m) => (m.tool_calls ?? []).filter(callsSendTool).map((c) => c.id)),
    );
    for (const m of request.messages) {
      if (m.role === "tool" && m.tool_call_id && sendCalls.has(m.tool_call_id) && !results.has(m.tool_call_id)) {
        results.set(m.tool_call_id, contentText(m.content));
      }
    }
  }
  return [...results.values()];
}

/** The JSON line at the end of a send tool result: what the connector answered. */
export function sendOutcome(result: string): { outboundId: string; conversationId?: string; state: string } {
  return JSON.parse(result.trim().split("\n").at(-1) ?? "{}");
}
