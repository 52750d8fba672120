// clawrelay_send: check the arguments, then one POST /v1/outbound to the local connector with
// the calling session's key, so receipts and answers come back into that session as turns.
import { createHash, randomUUID } from "node:crypto";
import { answerError, callConnector, ToolError } from "./connector.mjs";
import {
  AGENT_ID_PATTERN,
  MAX_PAYLOAD_BYTES,
  MAX_TTL_SECONDS,
  MESSAGE_REF_PATTERN,
  NOTIFY_KINDS,
  PRIORITIES,
  SESSION_KEY_HEADER,
  SESSION_KEY_PATTERN,
} from "./limits.mjs";

export const SEND_TOOL = "clawrelay_send";
const NOTHING_SENT = "nothing was sent";

export const sendDescription = [
  "Send a message to another AI agent through clawrelay (agent-to-agent messaging across gateways and machines).",
  "Use it when your user asks you to tell, ask or answer another agent, or to answer a clawrelay message you",
  "received (a turn that starts 'Message from agent …, through clawrelay'): pass that message's id as inReplyTo;",
  "`to` can then be left out and the answer stays in that conversation.",
  "The call returns once the local connector has queued the message; delivery happens after.",
  "The other agent's answer, and any failure (expired, undeliverable, refused), come back later as a new turn in",
  "this session: tell your user then. Do not wait or poll for it.",
].join(" ");

export const sendParameters = {
  type: "object",
  additionalProperties: false,
  properties: {
    to: {
      type: "string",
      description:
        'The recipient\'s clawrelay agent id, e.g. "bob" (3-64 characters of a-z 0-9 . _ -). ' +
        "Leave it out when inReplyTo names a message you received: the answer goes to its sender.",
    },
    text: {
      type: "string",
      description: 'The message as plain text (sent as the payload {"text": …}). Give text or payload, not both.',
    },
    payload: {
      description:
        "Instead of text: the message as a JSON value, for structured data the other agent expects. At most 256 KiB.",
    },
    priority: {
      type: "string",
      enum: PRIORITIES,
      description:
        "critical is delivered first; low goes last and is dropped first when the recipient's queue is full. Default normal.",
    },
    ttlSeconds: {
      type: "integer",
      minimum: 1,
      maximum: MAX_TTL_SECONDS,
      description: "How long the message may wait for the recipient, in seconds (at most 7 days). Default 6 hours.",
    },
    notify: {
      type: "array",
      items: { type: "string", enum: NOTIFY_KINDS },
      description:
        "Receipts to get as turns besides failures: delivered (reached their connector), processed (their agent took it), delayed (still waiting).",
    },
    inReplyTo: {
      type: "string",
      description: "The message id of the clawrelay message you are answering (its 'message id:' line, e.g. msg_01J…).",
    },
    conversationId: {
      type: "string",
      description:
        "Put the message into this conversation (8-128 characters of A-Z a-z 0-9 . _ : -). " +
        "Default: with inReplyTo, the conversation of the message you answer; without it, this session's " +
        "conversation with that agent (the same for every message this session sends it).",
    },
  },
};

const KNOWN = new Set(Object.keys(sendParameters.properties));

/**
 * @param {string} code
 * @param {string} message
 */
const invalid = (code, message) => new ToolError(code, `${message}; ${NOTHING_SENT}`);

/**
 * The connector's outbound body from the tool's arguments, or a ToolError that says what to fix.
 * @param {unknown} raw
 */
export function outboundBody(raw) {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalid("invalid_arguments", "clawrelay_send takes an object of arguments");
  }
  const params = /** @type {Record<string, unknown>} */ (raw);
  const unknown = Object.keys(params).filter((key) => !KNOWN.has(key) && params[key] !== undefined);
  if (unknown.length > 0) {
    throw invalid("invalid_arguments", `unknown argument ${unknown.join(", ")}; use ${[...KNOWN].join(", ")}`);
  }
  const { to, text, payload, priority, ttlSeconds, notify, inReplyTo, conversationId } = params;
  if (to !== undefined && (typeof to !== "string" || !AGENT_ID_PATTERN.test(to))) {
    throw invalid(
      "invalid_recipient",
      `to must be a clawrelay agent id: 3-64 characters of a-z 0-9 . _ -, starting with a letter or digit (got ${JSON.stringify(to)})`,
    );
  }
  for (const [name, value] of [
    ["inReplyTo", inReplyTo],
    ["conversationId", conversationId],
  ]) {
    if (value !== undefined && (typeof value !== "string" || !MESSAGE_REF_PATTERN.test(value))) {
      throw invalid("invalid_reference", `${name} must be 8-128 characters of A-Z a-z 0-9 . _ : - (a message id)`);
    }
  }
  if (to === undefined && inReplyTo === undefined) {
    throw invalid("missing_recipient", "give to (the recipient's agent id), or inReplyTo to answer a message");
  }
  if ((text === undefined) === (payload === undefined)) {
    throw invalid("invalid_message", "give exactly one of text (plain text) or payload (JSON)");
  }
  if (text !== undefined && (typeof text !== "string" || text.length === 0)) {
    throw invalid("invalid_message", "text must be a non-empty string");
  }
  const body = text !== undefined ? { text } : payload;
  const size = Buffer.byteLength(JSON.stringify(body) ?? "", "utf8");
  if (size > MAX_PAYLOAD_BYTES) {
    throw invalid("payload_too_large", `the message is ${size} bytes as JSON; at most ${MAX_PAYLOAD_BYTES} fit`);
  }
  if (priority !== undefined && !PRIORITIES.includes(/** @type {string} */ (priority))) {
    throw invalid("invalid_priority", `priority must be one of ${PRIORITIES.join(", ")}`);
  }
  if (
    ttlSeconds !== undefined &&
    (typeof ttlSeconds !== "number" || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS)
  ) {
    throw invalid("invalid_ttl", `ttlSeconds must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS} (7 days)`);
  }
  if (
    notify !== undefined &&
    (!Array.isArray(notify) ||
      notify.some((kind) => !NOTIFY_KINDS.includes(kind)) ||
      notify.length > NOTIFY_KINDS.length)
  ) {
    throw invalid("invalid_notify", `notify must be a list of ${NOTIFY_KINDS.join(", ")}`);
  }
  return {
    ...(to !== undefined ? { to } : {}),
    payload: body,
    ...(priority !== undefined ? { priority } : {}),
    ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
    ...(notify !== undefined ? { notify } : {}),
    ...(inReplyTo !== undefined ? { inReplyTo } : {}),
    ...(conversationId !== undefined ? { conversationId } : {}),
  };
}

/**
 * The calling session's key as the connector takes it, or undefined. OpenClaw's keys read like
 * `agent:main:hook:clawrelay:bob:c1` and are sent as given; one the header cannot carry is left
 * out (the message still goes; only its failures cannot find this session).
 * @param {unknown} sessionKey
 */
function headerSessionKey(sessionKey) {
  return typeof sessionKey === "string" && SESSION_KEY_PATTERN.test(sessionKey) ? sessionKey : undefined;
}

/**
 * A new message names no conversation: it gets this session's conversation with that agent, so
 * the recipient's gateway keeps one OpenClaw session for it (its session key is per peer and
 * conversation) and receipts can name it. Derived, not stored: the same session and recipient
 * always give the same id. A session with no usable key starts a fresh conversation each time.
 * @param {string | undefined} sessionKey
 * @param {string} to
 */
export function sessionConversationId(sessionKey, to) {
  if (sessionKey === undefined) return `oc.${randomUUID()}`;
  const digest = createHash("sha256").update(`${sessionKey}\n${to}`).digest("base64url");
  return `oc.${digest.slice(0, 22)}`;
}

/**
 * @param {import("./connector.mjs").Connector} connector
 * @param {{sessionKey?: unknown}} ctx
 * @param {unknown} params
 * @param {AbortSignal | undefined} signal
 */
export async function send(connector, ctx, params, signal) {
  const body = outboundBody(params);
  const sessionKey = headerSessionKey(ctx.sessionKey);
  if (body.to !== undefined && body.inReplyTo === undefined && body.conversationId === undefined) {
    body.conversationId = sessionConversationId(sessionKey, body.to);
  }
  const answer = await callConnector(connector, {
    method: "POST",
    path: "/v1/outbound",
    body,
    headers: sessionKey !== undefined ? { [SESSION_KEY_HEADER]: sessionKey } : {},
    ...(signal ? { signal } : {}),
    unsentNote: NOTHING_SENT,
    timeoutNote: "it may have been queued all the same, so do not simply send it again",
  });
  if (answer.status !== 200 && answer.status !== 202) throw answerError(answer, "the message", NOTHING_SENT);
  const { outboundId, correlationId, conversationId, state, duplicate } = answer.body ?? {};
  const result = { outboundId, correlationId, ...(conversationId ? { conversationId } : {}), state };
  const target = body.to ?? `the sender of ${body.inReplyTo}`;
  const lines = [
    duplicate
      ? `Already queued for ${target} earlier (the connector keeps one copy); nothing new was sent.`
      : `Queued for ${target}.`,
    sessionKey !== undefined
      ? "If it cannot be delivered you will hear back in this session; answers also come here as new turns."
      : `This session has no key the connector can use, so failures will not come back here: check with clawrelay_status {"outboundId":"${outboundId}"}.`,
    JSON.stringify(result),
  ];
  return { content: [{ type: "text", text: lines.join("\n") }], details: { ok: true, ...result } };
}
