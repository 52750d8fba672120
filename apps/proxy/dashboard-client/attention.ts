import { agentLink, ago, el, empty, row, table } from "./dom.js";
import type { Attention } from "./schemas.js";

/** What each reason of the relay's "needs attention" view means to an operator. */
const REASONS: Record<string, string> = {
  hook_failing: "hook failing",
  backlog_old: "backlog getting old",
  dead_letters: "dead letters waiting",
  token_expiring: "token expiring",
  offline_with_queue: "offline with items queued",
};

const detailText = (detail: unknown): string =>
  detail === undefined || detail === null ? "" : typeof detail === "string" ? detail : JSON.stringify(detail);

/** The "Needs attention" panel; null when the relay does not send the list at all. */
export function attentionPanel(items: readonly Attention[] | undefined, now: number): HTMLElement | null {
  if (items === undefined) return null;
  const body =
    items.length === 0
      ? empty("Nothing needs attention.")
      : table(
          "attention-table",
          ["agent", "what", "since", "detail"],
          items.map((item) =>
            row({ "data-agent": item.agentId, "data-reason": item.reason }, [
              agentLink(item.agentId),
              REASONS[item.reason] ?? item.reason,
              ago(item.since, now),
              detailText(item.detail),
            ]),
          ),
        );
  return el("section", { id: "attention", class: items.length ? "panel alert" : "panel", "aria-live": "polite" }, [
    el("h2", {}, [`Needs attention${items.length ? ` (${items.length})` : ""}`]),
    body,
  ]);
}
