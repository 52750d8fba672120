// `clawrelay status` for a person: the connector's `GET /v1/status` answer as a short summary
// with relative times and a health verdict. Scripts get the answer itself (--json, or a pipe).
import { z } from "zod";
import { duration, fields, type Palette, relativeTime } from "./output.js";

const breakerSchema = z.enum(["closed", "open", "half_open"]);
const stamped = z.object({ at: z.number() });

/** The parts of the status answer the summary shows; anything else in it is left to --json. */
export const statusViewSchema = z.object({
  agentId: z.string(),
  connectorId: z.string(),
  link: z.object({
    state: z.string(),
    role: z.string().nullable(),
    relayUrl: z.string().nullable(),
    connectedSince: z.number().nullable(),
    reconnectAttempt: z.number(),
    lastError: z.string().nullable(),
  }),
  hook: z.object({
    format: z.string(),
    state: z.string(),
    held: z.object({ reason: z.string(), status: z.number(), since: z.number() }).optional(),
  }),
  breakers: z.object({ hook: breakerSchema, outbound: z.record(z.string(), breakerSchema) }),
  counts: z.object({
    inboxPending: z.number(),
    outbox: z.object({ queued: z.number(), sending: z.number(), sent: z.number(), failed: z.number() }),
    deadLetters: z.number(),
    pendingReports: z.number(),
  }),
  identity: z.object({ tokenExpiresAt: z.number().nullable(), tokenExpiring: z.boolean(), tokenExpired: z.boolean() }),
  metrics: z.object({ outboxOldestAgeMs: z.number().nullable(), inboxOldestAgeMs: z.number().nullable() }),
  lastError: z.object({
    hook: stamped.extend({ reason: z.string() }).nullable(),
    outbound: stamped.extend({ code: z.string() }).nullable(),
  }),
});

export type StatusView = z.infer<typeof statusViewSchema>;

/** What is wrong, as stable codes (tests and the health line read these, not the prose). */
export type StatusProblem =
  | "link_down"
  | "credentials_rejected"
  | "hook_held"
  | "hook_breaker_open"
  | "outbound_breaker_open"
  | "dead_letters"
  | "outbox_failed"
  | "token_expired"
  | "token_expiring";

export function statusProblems(status: StatusView): StatusProblem[] {
  const problems: StatusProblem[] = [];
  if (status.link.state === "credentials_rejected") problems.push("credentials_rejected");
  else if (status.link.state !== "connected") problems.push("link_down");
  if (status.hook.held) problems.push("hook_held");
  if (status.breakers.hook !== "closed") problems.push("hook_breaker_open");
  if (Object.values(status.breakers.outbound).some((state) => state !== "closed"))
    problems.push("outbound_breaker_open");
  if (status.counts.deadLetters > 0) problems.push("dead_letters");
  if (status.counts.outbox.failed > 0) problems.push("outbox_failed");
  if (status.identity.tokenExpired) problems.push("token_expired");
  else if (status.identity.tokenExpiring) problems.push("token_expiring");
  return problems;
}

const PROBLEM_TEXT: Record<StatusProblem, string> = {
  link_down: "not connected to a relay",
  credentials_rejected: "the relay rejected the identity token",
  hook_held: "hook calls are held",
  hook_breaker_open: "the hook's breaker is open",
  outbound_breaker_open: "a relay's breaker is open",
  dead_letters: "dead letters waiting (clawrelay dead-letters)",
  outbox_failed: "outbound messages failed",
  token_expired: "the identity token expired (clawrelay agent renew)",
  token_expiring: "the identity token expires soon (clawrelay agent renew)",
};

function breakerText(state: string, palette: Palette): string {
  return state === "closed" ? palette.green(state) : palette.red(state);
}

function linkText(status: StatusView, now: number, palette: Palette): string {
  const { link } = status;
  if (link.state === "connected") {
    const since = link.connectedSince === null ? "" : `, since ${relativeTime(link.connectedSince, now)}`;
    return `${palette.green("connected")} (${link.role ?? "no role yet"})${since}`;
  }
  const attempt = link.reconnectAttempt > 0 ? `, attempt ${link.reconnectAttempt}` : "";
  const error = link.lastError ? `: ${link.lastError}` : "";
  const colour = link.state === "credentials_rejected" ? palette.red : palette.yellow;
  return `${colour(link.state)}${attempt}${error}`;
}

function hookText(status: StatusView, now: number, palette: Palette): string {
  const { hook } = status;
  const state = hook.held
    ? `${palette.red("held")} since ${relativeTime(hook.held.since, now)} (${hook.held.status}: ${hook.held.reason})`
    : palette.green(hook.state);
  const error = status.lastError.hook
    ? `; last error ${status.lastError.hook.reason}, ${relativeTime(status.lastError.hook.at, now)}`
    : "";
  return `${state}, ${hook.format} format, breaker ${breakerText(status.breakers.hook, palette)}${error}`;
}

function outboundText(status: StatusView, now: number, palette: Palette): string {
  const relays = Object.entries(status.breakers.outbound).map(
    ([origin, state]) => `${origin} ${breakerText(state, palette)}`,
  );
  const error = status.lastError.outbound
    ? `; last error ${status.lastError.outbound.code}, ${relativeTime(status.lastError.outbound.at, now)}`
    : "";
  return `${relays.length > 0 ? relays.join(", ") : "no relay called yet"}${error}`;
}

function queueText(status: StatusView, palette: Palette): [string, string] {
  const { counts, metrics } = status;
  const oldest = (ms: number | null) => (ms === null ? "" : `, oldest ${duration(ms)}`);
  const inbox = `${counts.inboxPending} waiting for the agent${oldest(metrics.inboxOldestAgeMs)}`;
  const { queued, sending, sent, failed } = counts.outbox;
  const failedText = failed > 0 ? palette.red(`${failed} failed`) : `${failed} failed`;
  const outbox = `${queued} queued, ${sending} sending, ${sent} sent, ${failedText}${oldest(metrics.outboxOldestAgeMs)}`;
  return [inbox, outbox];
}

function tokenText(status: StatusView, now: number, palette: Palette): string {
  const { identity } = status;
  if (identity.tokenExpiresAt === null) return palette.dim("expiry unknown");
  const when = relativeTime(identity.tokenExpiresAt, now);
  if (identity.tokenExpired) return palette.red(`expired ${when}`);
  return identity.tokenExpiring ? palette.yellow(`expires ${when}`) : `expires ${when}`;
}

/** The summary, or null when the answer is not a status this CLI knows (then print it as JSON). */
export function renderStatus(body: unknown, now: number, palette: Palette): string | null {
  const parsed = statusViewSchema.safeParse(body);
  if (!parsed.success) return null;
  const status = parsed.data;
  const problems = statusProblems(status);
  const [inbox, outbox] = queueText(status, palette);
  const dead = status.counts.deadLetters;
  const health =
    problems.length === 0
      ? palette.green("ok")
      : palette.red(problems.map((problem) => PROBLEM_TEXT[problem]).join("; "));
  const rows: [string, string][] = [
    ["health", health],
    ["link", linkText(status, now, palette)],
    ["relay", status.link.relayUrl ?? palette.dim("none")],
    ["hook", hookText(status, now, palette)],
    ["outbound", outboundText(status, now, palette)],
    ["inbox", inbox],
    ["outbox", outbox],
    ["dead letters", dead > 0 ? palette.red(String(dead)) : "0"],
    ["reports", `${status.counts.pendingReports} not yet sent to the relay`],
    ["token", tokenText(status, now, palette)],
  ];
  return `${palette.bold(status.agentId)} ${palette.dim(status.connectorId)}\n${fields(rows, palette)}`;
}
