// The local API port `connector init` gives a new connector when none is asked for: two agents
// on one machine must not both take the default, or the second connector cannot start.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { CONNECTOR_DEFAULTS } from "@clawrelay/protocol";
import { z } from "zod";
import { agentsWithConnector } from "./find-connector.js";

/** The one field of another agent's connector.json this needs; the rest is that connector's business. */
const listenPortSchema = z.looseObject({ listen: z.looseObject({ port: z.number().int() }) });

export interface PortChoice {
  port: number;
  /** The other agents' connectors and the ports they listen on, lowest first. */
  taken: { id: string; port: number }[];
}

/**
 * The first port from the default (19400) up that no other agent's `<home>/agents/<id>/connector.json`
 * listens on. `ownConfig` (the file about to be written, on a re-init) does not count: its port is
 * free for it. A config that cannot be read or parsed holds no port anyone can know of.
 */
export async function pickConnectorPort(home: string, ownConfig: string): Promise<PortChoice> {
  const taken: { id: string; port: number }[] = [];
  for (const agent of await agentsWithConnector(home)) {
    if (resolve(agent.config) === resolve(ownConfig)) continue;
    const text = await readFile(agent.config, "utf8").catch(() => undefined);
    const parsed = listenPortSchema.safeParse(parseOrUndefined(text));
    if (parsed.success) taken.push({ id: agent.id, port: parsed.data.listen.port });
  }
  taken.sort((a, b) => a.port - b.port);
  const used = new Set(taken.map((agent) => agent.port));
  let port = CONNECTOR_DEFAULTS.listenPort;
  while (used.has(port)) port += 1;
  return { port, taken };
}

function parseOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** "19400 is alice-agent's, 19401 is bob-agent's": why a connector got the port it got. */
export function describeTaken(choice: PortChoice): string {
  return choice.taken
    .filter((agent) => agent.port >= CONNECTOR_DEFAULTS.listenPort && agent.port < choice.port)
    .map((agent) => `${agent.port} is ${agent.id}'s`)
    .join(", ");
}
