import { errorText, getJson } from "./api.js";
import { agentLink, badge, el, empty, facts, ms, replace, row, setState, table, time } from "./dom.js";
import { type MessageRecord, recordSchema } from "./schemas.js";

function render(record: MessageRecord): void {
  const state = record.state + (record.terminal ? ` (${record.terminal})` : "");
  replace(
    "facts",
    facts("trace-facts", [
      ["message", record.messageId],
      ["correlation id", record.correlationId],
      ["from", record.from],
      ["to", agentLink(record.to)],
      ["lane", record.priority],
      ["state", state],
      ["attempts", String(record.attempts)],
      ["enqueued", time(record.enqueuedAt)],
      ["expires", time(record.expiresAt)],
      ["finished", time(record.finishedAt)],
    ]),
  );
  let previous: number | null = null;
  const hops = record.trace.map((hop) => {
    const gap = previous === null ? "" : `+${ms(hop.at - previous)}`;
    previous = hop.at;
    return row({ "data-hop": hop.hop }, [time(hop.at), gap, hop.hop, hop.detail ? JSON.stringify(hop.detail) : ""]);
  });
  replace("hops", table("trace-table", ["at", "gap", "hop", "detail"], hops));
  replace(
    "receipts",
    record.receipts.length === 0
      ? empty("No receipts.")
      : el(
          "ul",
          {},
          record.receipts.map((r) =>
            el("li", {}, [time(r.at), " ", badge(r.status, "muted"), r.reason ? ` — ${r.reason}` : ""]),
          ),
        ),
  );
  setState(`trace of ${record.correlationId}`, false);
}

export function startTrace(): void {
  const params = new URLSearchParams(window.location.search);
  const agent = params.get("agent") ?? "";
  const message = params.get("message") ?? "";
  getJson(`/dashboard/api/messages/${encodeURIComponent(agent)}/${encodeURIComponent(message)}`, recordSchema)
    .then(render)
    .catch((error: unknown) => setState(`no trace: ${errorText(error)}`, true));
}
