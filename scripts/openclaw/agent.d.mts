import type { ConnectorProcess } from "../lib/connector.mjs";
import type { LocalRelay } from "../lib/relay.mjs";
import type { HookAnswer, OpenClawGateway } from "./gateway.mjs";
import type { ModelScript, StandInModel } from "./stand-in-model.mjs";
export const PLUGIN_DIR: string;
export interface OpenClawAgentOptions {
  id: string;
  relay: LocalRelay;
  dataDir: string;
  script: ModelScript;
  /** Connector config fields beyond the basics. */
  connectorExtra?: Record<string, unknown>;
  /** Fields of the connector's `openclaw` section beyond url and token. */
  openclaw?: Record<string, unknown>;
  pluginDir?: string;
  maxToolCalls?: number;
  onConnectorLog?: (line: string) => void;
}
export class OpenClawAgent {
  constructor(options: OpenClawAgentOptions);
  options: OpenClawAgentOptions;
  id: string;
  model: StandInModel;
  gateway: OpenClawGateway;
  connector: ConnectorProcess;
  prepare(): Promise<this>;
  start(): Promise<this>;
  setConnectorHooksToken(token: string): void;
  ask(sessionKey: string, text: string, extra?: Record<string, unknown>): Promise<HookAnswer>;
  close(): Promise<void>;
}
export function startAgents(agents: OpenClawAgent[]): Promise<OpenClawAgent[]>;
