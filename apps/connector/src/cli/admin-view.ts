// The admin answers as a person reads them. Each parses only what it shows (zod, loosely: the
// relay may add fields); an answer of another shape is printed as JSON instead.
import { z } from "zod";
import { duration, fields, type Palette, relativeTime, table } from "./output.js";

const registeredSchema = z.object({
  agentId: z.string(),
  known: z.boolean(),
  connections: z.array(z.unknown()),
  queue: z.object({ items: z.number(), inFlight: z.number() }),
});

export function describeRegistered(body: unknown, relay: string, palette: Palette): string | null {
  const parsed = registeredSchema.safeParse(body);
  if (!parsed.success) return null;
  const { agentId, connections, queue } = parsed.data;
  return `${palette.green("registered")} ${agentId} on ${relay}\n${fields(
    [
      ["connections", String(connections.length)],
      ["queued", `${queue.items} (${queue.inFlight} in flight)`],
    ],
    palette,
  )}`;
}

const revocationSchema = z.object({
  jti: z.string().optional(),
  agentId: z.string().optional(),
  reason: z.string().optional(),
  createdAt: z.number(),
});

export function describeRevocation(body: unknown, now: number, palette: Palette): string | null {
  const parsed = revocationSchema.safeParse(body);
  if (!parsed.success) return null;
  const { jti, agentId, reason, createdAt } = parsed.data;
  const subject = agentId === undefined ? `token ${jti ?? "?"}` : `agent ${agentId}`;
  const rows: [string, string][] = [
    ["since", `${new Date(createdAt).toISOString()} (${relativeTime(createdAt, now)})`],
    ...(reason === undefined ? [] : [["reason", reason] as [string, string]]),
    ["takes effect", "within 60 s on every isolate; the agent's open connections are closed"],
  ];
  return `${palette.red("revoked")} ${subject}\n${fields(rows, palette)}`;
}

const countSchema = z.number();
const statusSchema = z.object({
  version: z.string(),
  generatedAt: z.number(),
  uptimeSeconds: z.number(),
  shards: z.object({ total: z.number(), answered: z.number() }),
  revocations: z.object({ state: z.string() }),
  agents: z.object({ reporting: countSchema, known: countSchema, connected: countSchema }),
  totals: z.object({
    windowHours: countSchema,
    messagesIn: countSchema,
    delivered: countSchema,
    processed: countSchema,
    failed: countSchema,
  }),
  refused: z.object({ total: countSchema }),
  openBreakersTotal: countSchema,
  worstQueues: z.array(
    z.object({ agentId: z.string(), items: countSchema, inFlight: countSchema, oldestQueuedAt: z.number().nullable() }),
  ),
});

export function describeStatus(body: unknown, relay: string, now: number, palette: Palette): string | null {
  const parsed = statusSchema.safeParse(body);
  if (!parsed.success) return null;
  const s = parsed.data;
  const flag = (bad: boolean, text: string) => (bad ? palette.yellow(text) : text);
  const rows: [string, string][] = [
    ["version", `${s.version}, up ${duration(s.uptimeSeconds * 1000)}`],
    ["agents", `${s.agents.known} known, ${s.agents.connected} connected`],
    [
      `last ${s.totals.windowHours} h`,
      `${s.totals.messagesIn} in, ${s.totals.delivered} delivered, ${s.totals.processed} processed, ${flag(s.totals.failed > 0, `${s.totals.failed} failed`)}`,
    ],
    ["refused", flag(s.refused.total > 0, `${s.refused.total} requests`)],
    ["open breakers", flag(s.openBreakersTotal > 0, String(s.openBreakersTotal))],
    [
      "revocation list",
      flag(s.revocations.state === "stale" || s.revocations.state === "expired", s.revocations.state),
    ],
    ["shards", flag(s.shards.answered < s.shards.total, `${s.shards.answered}/${s.shards.total} answered`)],
  ];
  const queues =
    s.worstQueues.length === 0
      ? ""
      : `\n${table(
          ["AGENT", "QUEUED", "IN FLIGHT", "OLDEST"],
          s.worstQueues.map((q) => [
            q.agentId,
            String(q.items),
            String(q.inFlight),
            q.oldestQueuedAt === null ? "-" : relativeTime(q.oldestQueuedAt, now),
          ]),
        )}`;
  return `${palette.bold(relay)}\n${fields(rows, palette)}${queues}`;
}
