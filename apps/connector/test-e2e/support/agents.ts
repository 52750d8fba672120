import { ConnectorProcess } from "../../../../scripts/lib/connector.mjs";
import { StandInHook } from "../../../../scripts/lib/hook.mjs";
import type { LocalRelay } from "../../../../scripts/lib/relay.mjs";

export interface AgentWithConnector {
  hook: StandInHook;
  connector: ConnectorProcess;
}

export interface AgentOptions {
  id: string;
  dataDir: string;
  connectorId?: string;
  /** Connector config fields beyond the basics (backoffs, hook budgets…). */
  extra?: Record<string, unknown>;
}

/**
 * An agent as the e2e tests need it: a stand-in webhook and a real connector process for `id`,
 * linked to `relay` with the identity the relay's registry made for it. Both are stopped by the
 * steps pushed onto `cleanup` (run in reverse by the test file's afterAll).
 */
export async function agentWithConnector(
  relay: LocalRelay,
  cleanup: (() => Promise<unknown>)[],
  options: AgentOptions,
): Promise<AgentWithConnector> {
  const hook = await new StandInHook().start();
  const connector = new ConnectorProcess({
    agentId: options.id,
    identityDir: relay.agent(options.id),
    relayUrls: [relay.url],
    hookUrl: hook.url,
    dataDir: options.dataDir,
    ...(options.connectorId ? { connectorId: options.connectorId } : {}),
    ...(options.extra ? { extra: options.extra } : {}),
  });
  cleanup.push(() => hook.close());
  await connector.start();
  cleanup.push(() => connector.kill());
  return { hook, connector };
}
