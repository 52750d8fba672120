import * as z from "zod/mini";
import { agentLink, ago, el, empty, row, table, time } from "./dom.js";
import type { Attention } from "./schemas.js";

/** What each reason of the relay's "needs attention" view means to an operator. */
const REASONS: Record<string, string> = {
  hook_failing: "hook failing",
  backlog_old: "backlog getting old",
  dead_letters: "dead letters waiting",
  token_expiring: "token expiring",
  offline_with_queue: "offline with items queued",
};

const n = z.number();
const maybe = z.nullable(z.number());
const connector = z.optional(z.nullable(z.string()));
const DETAILS = {
  offline_with_queue: z.object({ items: n, oldestQueuedAt: maybe }),
  hook_failing: z.object({
    connectorId: z.string(),
    breaker: z.string(),
    lastError: z.optional(z.nullable(z.string())),
  }),
  backlog_old: z.object({ where: z.string(), oldestAt: n, items: n, connectorId: connector }),
  dead_letters: z.object({ connectorId: z.string(), deadLetters: n }),
  token_expiring: z.object({ connectorId: z.string(), tokenExpiresAt: n, expired: z.boolean() }),
};

/** One readable line per known detail; anything else as its JSON, so nothing is hidden. */
export function detailText(item: Attention, now: number): string {
  const d = item.detail;
  if (d === undefined || d === null) return "";
  const as = <T>(schema: z.ZodMiniType<T>): T | null => {
    const parsed = schema.safeParse(d);
    return parsed.success ? parsed.data : null;
  };
  const offline = item.reason === "offline_with_queue" ? as(DETAILS.offline_with_queue) : null;
  if (offline) return `${offline.items} queued, oldest ${ago(offline.oldestQueuedAt, now)}`;
  const hook = item.reason === "hook_failing" ? as(DETAILS.hook_failing) : null;
  if (hook) return `breaker ${hook.breaker} at ${hook.connectorId}${hook.lastError ? `: ${hook.lastError}` : ""}`;
  const backlog = item.reason === "backlog_old" ? as(DETAILS.backlog_old) : null;
  if (backlog) {
    const at = backlog.connectorId ? ` at ${backlog.connectorId}` : "";
    return `${backlog.items} in the ${backlog.where}${at}, oldest ${ago(backlog.oldestAt, now)}`;
  }
  const dead = item.reason === "dead_letters" ? as(DETAILS.dead_letters) : null;
  if (dead) return `${dead.deadLetters} at ${dead.connectorId}`;
  const token = item.reason === "token_expiring" ? as(DETAILS.token_expiring) : null;
  if (token) return `${token.expired ? "expired" : "expires"} ${time(token.tokenExpiresAt)} at ${token.connectorId}`;
  return typeof d === "string" ? d : JSON.stringify(d);
}

/** The "Needs attention" panel; null when the relay does not send the list at all. */
export function attentionPanel(
  items: readonly Attention[] | undefined,
  now: number,
  total?: number,
): HTMLElement | null {
  if (items === undefined) return null;
  const all = Math.max(total ?? items.length, items.length);
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
              detailText(item, now),
            ]),
          ),
          all > items.length ? `the ${items.length} most urgent of ${all}` : undefined,
        );
  return el("section", { id: "attention", class: items.length ? "panel alert" : "panel", "aria-live": "polite" }, [
    el("h2", {}, [`Needs attention${all ? ` (${all})` : ""}`]),
    body,
  ]);
}
