// Relay restart (PROTOCOL v1.1 §8: "back within 5 s of a relay that restarted"): several
// connectors at their default reconnect settings, linked for a while; the relay's `wrangler dev`
// is stopped, stays down, and restarts on the same state. Measured to the moment the last
// connector has its link up (`link_connected`), once per round, from the relay listening again:
// `wrangler dev` accepts TCP connections seconds before its Worker answers (it holds them until
// then), so both moments are taken, and the target is judged from the first answer (the later).

import { firstAccept, firstAnswer } from "../../chaos/util.mjs";
import { waitUntil } from "../../scripts/lib/connector.mjs";
import { StandInHook } from "../../scripts/lib/hook.mjs";
import { waitForRole } from "../lib/clawrelay-side.mjs";
import { trackGroup } from "../lib/cleanup.mjs";
import { median } from "../lib/stats.mjs";

export async function runRelayRestart(side, { rounds, connectorCount, downMs }) {
  const agentIds = Array.from({ length: connectorCount }, (_, i) => `rr-c${i}`);
  await side.ensureAgents(agentIds);
  const hook = await new StandInHook({ keepCalls: false }).start();
  const linkedAt = agentIds.map(() => []);
  const connectors = agentIds.map((agentId, i) => {
    const connector = side.connector(agentId, hook.url);
    connector.onLog = (line) => {
      if (line.includes('"event":"link_connected"')) linkedAt[i].push(Date.now());
    };
    return connector;
  });
  const problems = [];
  const allLinkedMs = [];
  const fromAcceptMs = [];
  try {
    await Promise.all(connectors.map((c) => c.start()));
    await Promise.all(connectors.map((c) => waitForRole(c, "active")));
    for (let round = 0; round < rounds; round++) {
      await side.relay.stop();
      const downSince = Date.now();
      // Shapes the outage only: how long the relay stays down.
      await new Promise((resolve) => setTimeout(resolve, downMs));
      const accepting = firstAccept(side.relay.port, 120_000);
      const answering = firstAnswer(`${side.relay.url}/healthz`, 120_000);
      await side.relay.restart();
      trackGroup(side.relay.pid);
      const [acceptAt, answerAt] = await Promise.all([accepting, answering]);
      const linkedSince = () => linkedAt.map((times) => times.find((at) => at >= downSince));
      await waitUntil(() => linkedSince().every((at) => at !== undefined), 60_000, "every connector to link", 20);
      const lastLinked = Math.max(...linkedSince());
      allLinkedMs.push(lastLinked - Math.max(acceptAt, answerAt));
      fromAcceptMs.push(lastLinked - acceptAt);
    }
  } catch (error) {
    problems.push(`clawrelay relay restart: ${error.message}`);
  }
  await Promise.all(connectors.map((c) => c.kill()));
  await hook.close();
  return {
    side: side.name,
    rounds: allLinkedMs.length,
    connectors: connectorCount,
    downMs,
    allLinkedMs,
    fromAcceptMs,
    medianMs: median(allLinkedMs),
    maxMs: allLinkedMs.length ? Math.max(...allLinkedMs) : null,
    problems,
  };
}
