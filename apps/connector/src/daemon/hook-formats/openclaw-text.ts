import type { MessageItem, Receipt } from "@clawrelay/protocol";

/**
 * What an OpenClaw agent reads. The hook token says nothing about who sent a message and the
 * gateway marks hook content untrusted, so the sender is named in the text itself.
 */

/** A message's text is cut here (UTF-8 bytes); an agent turn is no place for a bulk payload. */
export const MESSAGE_TEXT_MAX_BYTES = 16_384;
/** A reason that came from elsewhere is quoted at most this long. */
const REASON_MAX_CHARS = 200;
/** The tool of the clawrelay OpenClaw plugin that sends (and answers) messages. */
export const SEND_TOOL = "clawrelay_send";

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  // A cut inside a character decodes to U+FFFD; drop that half character.
  const cut = bytes
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
  return `${cut}\n(truncated)`;
}

/** `payload.text` when the payload carries one, the string itself, else the payload as JSON. */
export function payloadText(payload: unknown): string {
  if (typeof payload === "string") return payload;
  if (typeof payload === "object" && payload !== null && !Array.isArray(payload)) {
    const text = (payload as Record<string, unknown>).text;
    if (typeof text === "string") return text;
  }
  return JSON.stringify(payload) ?? "null";
}

export function messageTurnText(item: MessageItem): string {
  const lines = [
    `Message from agent ${item.from}, through clawrelay (another agent, not your user).`,
    `message id: ${item.id}`,
  ];
  if (item.conversationId) lines.push(`conversation: ${item.conversationId}`);
  if (item.inReplyTo) lines.push(`in reply to: ${item.inReplyTo}`);
  if (item.priority !== "normal") lines.push(`priority: ${item.priority}`);
  lines.push("", truncateUtf8(payloadText(item.payload), MESSAGE_TEXT_MAX_BYTES), "");
  lines.push(`To answer ${item.from}, call the ${SEND_TOOL} tool with inReplyTo: "${item.id}".`);
  return lines.join("\n");
}

function clock(at: number, reference: number): string {
  const iso = new Date(at).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(reference).toISOString().slice(0, 10);
  return `${sameDay ? "" : `${iso.slice(0, 10)} `}${iso.slice(11, 16)} UTC`;
}

/** A span in the largest unit that keeps it readable: "40 s", "15 min", "6 h", "2 d". */
export function span(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} d`;
}

function quoted(reason: string): string {
  const flat = reason.replace(/\s+/g, " ").trim();
  return flat.length > REASON_MAX_CHARS ? `${flat.slice(0, REASON_MAX_CHARS)}…` : flat;
}

/** Why, in words, from the reason codes the relay and connectors use; unknown ones are quoted. */
function why(reason: string | undefined, peer: string): string | null {
  if (!reason) return null;
  if (reason === "ttl") return `it was still waiting for ${peer}'s connector, which was offline or not taking messages`;
  if (reason === "ack_timeout") return `${peer}'s connector took it several times but never confirmed it`;
  if (reason === "expired_in_inbox") {
    return `${peer}'s connector had it, but ${peer}'s agent did not take it before it expired`;
  }
  if (reason.startsWith("evicted")) return `${peer}'s queue was full and it made room for more urgent messages`;
  if (reason.startsWith("retries exhausted")) {
    return `${peer}'s agent kept failing to take it (${quoted(reason.replace(/^retries exhausted:\s*/, ""))})`;
  }
  const status = /^hook_status_(\d{3})$/.exec(reason)?.[1];
  if (status) return `${peer}'s agent refused it (HTTP ${status})`;
  return `reason: ${quoted(reason)}`;
}

function outcome(receipt: Receipt): string {
  const after = span(receipt.at - receipt.enqueuedAt);
  switch (receipt.status) {
    case "failed":
      return "failed";
    case "expired":
      return `expired after ${after}`;
    case "shed":
      return `was dropped after ${after}`;
    case "dead_lettered":
      return `was given up after ${after}`;
    case "delayed":
      return `is still waiting after ${after}`;
    case "delivered":
      return `reached ${receipt.recipient}'s connector after ${after}`;
    case "processed":
      return `was taken by ${receipt.recipient}'s agent after ${after}`;
  }
}

function advice(receipt: Receipt): string {
  switch (receipt.status) {
    case "delayed":
      return "It is still queued and will be delivered when it can, unless it expires first.";
    case "delivered":
    case "processed":
      return "Nothing to do.";
    default:
      return `It was not delivered. Tell your user if it matters; to try again, send it again with ${SEND_TOOL}.`;
  }
}

/**
 * A receipt as a turn in the sender's session, e.g. "Your message to bob (sent 10:02 UTC, message
 * id …, conversation …) expired after 6 h: it was still waiting for bob's connector, …".
 */
export function receiptTurnText(receipt: Receipt): string {
  const peer = receipt.recipient;
  const facts = [`sent ${clock(receipt.enqueuedAt, receipt.at)}`, `message id ${receipt.messageId}`];
  if (receipt.conversationId) facts.push(`conversation ${receipt.conversationId}`);
  const reason = why(receipt.reason, peer);
  const head = `clawrelay receipt: your message to ${peer} (${facts.join(", ")}) ${outcome(receipt)}`;
  return `${head}${reason ? `: ${reason}` : ""}.\n${advice(receipt)}`;
}
