// clawrelay_status: the connector's link (GET /v1/status), or one sent message's state and
// receipts (GET /v1/outbound/{id}), cut down to what a model needs to answer its user.
import { answerError, callConnector, ToolError } from "./connector.mjs";
import { OUTBOUND_ID_PATTERN } from "./limits.mjs";

export const STATUS_TOOL = "clawrelay_status";
const NOTE = "no status was read";

export const statusDescription = [
  "Check clawrelay, the agent-to-agent messaging of clawrelay_send.",
  "Without arguments: whether this gateway's connector is connected to its relay, and how many messages wait.",
  "With outboundId (from a clawrelay_send result): that message's state and receipts.",
  "Failures come back as turns on their own; use this when your user asks, not to wait for an answer.",
].join(" ");

export const statusParameters = {
  type: "object",
  additionalProperties: false,
  properties: {
    outboundId: { type: "string", description: "The outboundId a clawrelay_send call returned." },
  },
};

/** @param {unknown} value */
const record = (value) =>
  typeof value === "object" && value !== null ? /** @type {Record<string, any>} */ (value) : {};
/** @param {unknown} at */
const when = (at) => (typeof at === "number" ? new Date(at).toISOString() : null);

/** @param {unknown} raw */
function linkSummary(raw) {
  const status = record(raw);
  const link = record(status.link);
  const counts = record(status.counts);
  const outbox = record(counts.outbox);
  return {
    agentId: status.agentId,
    link: {
      state: link.state,
      role: link.role ?? null,
      relayUrl: link.relayUrl ?? null,
      connectedSince: when(link.connectedSince),
      ...(link.state !== "connected" && link.lastError ? { lastError: link.lastError } : {}),
    },
    inboxPending: counts.inboxPending,
    outbox: { queued: outbox.queued, sending: outbox.sending, failed: outbox.failed },
    deadLetters: counts.deadLetters,
  };
}

/** @param {ReturnType<typeof linkSummary>} s */
function linkText(s) {
  const role = s.link.role ? ` (${s.link.role})` : "";
  const relay = s.link.relayUrl ? ` to ${s.link.relayUrl}` : "";
  const error = s.link.lastError ? `; last error: ${s.link.lastError}` : "";
  return (
    `clawrelay link of ${s.agentId}: ${s.link.state}${role}${relay}${error}. ` +
    `Inbox: ${s.inboxPending ?? "?"} waiting. Outbox: ${s.outbox.queued ?? "?"} queued, ${s.outbox.sending ?? "?"} sending, ` +
    `${s.outbox.failed ?? "?"} failed. Dead letters: ${s.deadLetters ?? "?"}.`
  );
}

/** @param {unknown} raw */
function outboundSummary(raw) {
  const found = record(raw);
  const receipts = Array.isArray(found.receipts) ? found.receipts.map(record) : [];
  return {
    outboundId: found.outboundId,
    to: found.to,
    state: found.state,
    messageId: found.messageId ?? null,
    ...(found.conversationId ? { conversationId: found.conversationId } : {}),
    ...(found.lastError ? { lastError: found.lastError } : {}),
    receipts: receipts.map((r) => ({ status: r.status, at: when(r.at), ...(r.reason ? { reason: r.reason } : {}) })),
  };
}

/** @param {ReturnType<typeof outboundSummary>} s */
function outboundText(s) {
  const receipts = s.receipts.length > 0 ? ` Receipts: ${s.receipts.map((r) => r.status).join(", ")}.` : "";
  const error = s.lastError ? ` Last error: ${s.lastError}.` : "";
  return `Message ${s.outboundId} to ${s.to}: ${s.state}.${receipts}${error}`;
}

/**
 * @param {import("./connector.mjs").Connector} connector
 * @param {unknown} params
 * @param {AbortSignal | undefined} signal
 */
export async function status(connector, params, signal) {
  const { outboundId, ...rest } = record(params);
  if (Object.keys(rest).length > 0) {
    throw new ToolError("invalid_arguments", `unknown argument ${Object.keys(rest).join(", ")}; use outboundId`);
  }
  if (outboundId !== undefined && (typeof outboundId !== "string" || !OUTBOUND_ID_PATTERN.test(outboundId))) {
    throw new ToolError("invalid_reference", "outboundId must be the outboundId a clawrelay_send call returned");
  }
  const path = outboundId === undefined ? "/v1/status" : `/v1/outbound/${encodeURIComponent(outboundId)}`;
  const answer = await callConnector(connector, {
    method: "GET",
    path,
    ...(signal ? { signal } : {}),
    unsentNote: NOTE,
  });
  if (answer.status !== 200) {
    throw answerError(answer, outboundId === undefined ? "the status request" : `outboundId ${outboundId}`, NOTE);
  }
  const summary = outboundId === undefined ? linkSummary(answer.body) : outboundSummary(answer.body);
  const text =
    outboundId === undefined
      ? linkText(/** @type {ReturnType<typeof linkSummary>} */ (summary))
      : outboundText(/** @type {ReturnType<typeof outboundSummary>} */ (summary));
  return { content: [{ type: "text", text: `${text}\n${JSON.stringify(summary)}` }], details: { ok: true, summary } };
}
