// Reading the turns a gateway hands its (stand-in) model, and scripting an agent's answers to
// them: a person's request, a clawrelay message from another agent, a clawrelay receipt. The
// connector's `openclaw` format writes those texts (apps/connector/src/daemon/hook-formats/
// openclaw-text.ts); OpenClaw wraps each hook text as untrusted external content.

const EXTERNAL =
  /<<<EXTERNAL_UNTRUSTED_CONTENT[^>]*>>>\n(?:[^\n]*\n)*?---\n([\s\S]*?)\n<<<END_EXTERNAL_UNTRUSTED_CONTENT/;

/** The hook's own text inside OpenClaw's wrapper (the whole text when there is no wrapper). */
export function hookText(userText) {
  return EXTERNAL.exec(userText)?.[1] ?? userText;
}

/** A clawrelay message turn: who sent it, its ids and its text; null for any other turn. */
export function messageTurn(userText) {
  const text = hookText(userText);
  const from = /^Message from agent (\S+), through clawrelay/m.exec(text)?.[1];
  if (!from) return null;
  const body = /\n\n([\s\S]*)\n\nTo answer /.exec(text)?.[1] ?? "";
  return {
    from,
    messageId: /^message id: (\S+)$/m.exec(text)?.[1] ?? null,
    conversationId: /^conversation: (\S+)$/m.exec(text)?.[1] ?? null,
    inReplyTo: /^in reply to: (\S+)$/m.exec(text)?.[1] ?? null,
    body,
    text,
  };
}

/** A clawrelay receipt turn: the peer, the status words and the ids; null for any other turn. */
export function receiptTurn(userText) {
  const text = hookText(userText);
  const head = /^clawrelay receipt: your message to (\S+) \(([^)]*)\) (.*)$/m.exec(text);
  if (!head) return null;
  const facts = head[2] ?? "";
  return {
    peer: head[1],
    messageId: /message id (\S+?)(?:,|$)/.exec(facts)?.[1] ?? null,
    conversationId: /conversation (\S+?)(?:,|$)/.exec(facts)?.[1] ?? null,
    outcome: head[3] ?? "",
    text,
  };
}

/**
 * A stand-in model script for one agent. Each handler returns the answer for the turn's first
 * request (`{ text }` or `{ tool, args }`); after a tool result the turn ends with a short text,
 * so every turn makes at most one tool call and a script can never loop.
 * handlers: onUser(text, request), onMessage(message, request), onReceipt(receipt, request).
 */
export function agentScript({ onUser, onMessage, onReceipt } = {}) {
  return (request) => {
    if (request.toolResults.length > 0) return { text: "Done." };
    const message = messageTurn(request.userText);
    if (message) return onMessage?.(message, request) ?? { text: `Noted the message from ${message.from}.` };
    const receipt = receiptTurn(request.userText);
    if (receipt) return onReceipt?.(receipt, request) ?? { text: `Noted the receipt for ${receipt.peer}.` };
    return onUser?.(hookText(request.userText), request) ?? { text: "OK." };
  };
}
