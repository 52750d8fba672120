import { errorText, getJson } from "./api.js";
import { agentLink, badge, el, empty, replace, row, setState, table, time, traceLink } from "./dom.js";
import { type SearchAnswer, searchSchema } from "./schemas.js";

function results(answer: SearchAnswer): HTMLElement {
  const scope =
    answer.agent !== null
      ? `in ${answer.agent}'s records and the relay's recent failures`
      : `in the records of ${answer.searched.agents} of ${answer.searched.of} agents and the relay's recent failures`;
  const body =
    answer.matches.length === 0
      ? empty(`Nothing matches ${answer.query}.`)
      : table(
          "search-table",
          ["recipient", "message", "correlation id", "state", "when", "found in"],
          answer.matches.map((m) =>
            row({ "data-message": m.messageId, "data-agent": m.agentId }, [
              agentLink(m.agentId),
              traceLink(m.agentId, m.messageId, m.messageId),
              m.correlationId,
              badge(m.state, m.source === "recent_failure" ? "bad" : "muted"),
              time(m.at),
              m.source === "record" ? "message record" : "recent failures",
            ]),
          ),
        );
  return el("div", {}, [el("p", { class: "note" }, [`Searched ${scope}.`]), body]);
}

export function startSearch(): void {
  const params = new URLSearchParams(window.location.search);
  const query = params.get("q") ?? "";
  const agent = params.get("agent") ?? "";
  const input = document.querySelector<HTMLInputElement>("#search-q");
  if (input) input.value = query;
  const agentInput = document.querySelector<HTMLInputElement>("#search-agent");
  if (agentInput) agentInput.value = agent;
  if (!query) {
    setState("type a message id or a correlation id", false);
    return;
  }
  const path = `/dashboard/api/search?${new URLSearchParams(agent ? { q: query, agent } : { q: query })}`;
  getJson(path, searchSchema)
    .then((answer) => {
      replace("results", results(answer));
      setState(`${answer.matches.length} match${answer.matches.length === 1 ? "" : "es"}`, false);
    })
    .catch((error: unknown) => setState(`search failed: ${errorText(error)}`, true));
}
