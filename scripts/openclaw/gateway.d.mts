import type { StandInModel } from "./stand-in-model.mjs";
export const PROVIDER_ID: string;
export interface GatewayPlugin {
  id: string;
  /** The plugin's folder (openclaw.plugin.json, package.json, entry). */
  dir: string;
  config?: Record<string, unknown>;
}
export interface GatewayOptions {
  model: StandInModel;
  name?: string;
  home?: string;
  plugins?: GatewayPlugin[];
  port?: number;
  hooksToken?: string;
  /** false: no hooks section in the config (`clawrelay openclaw setup` writes it). */
  hooks?: boolean;
  extraConfig?: Record<string, unknown>;
  openclawDir?: string;
  /** How long start() waits for /readyz (default 120 s). */
  readyTimeoutMs?: number;
}
export interface HookAnswer {
  status: number;
  json: unknown;
}
export class OpenClawGateway {
  constructor(options: GatewayOptions);
  options: GatewayOptions;
  name: string;
  home: string;
  stateDir: string;
  configPath: string;
  logFile: string;
  hooksToken: string;
  gatewayToken: string;
  port: number;
  readonly url: string;
  readonly hooksUrl: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  config(): Record<string, unknown>;
  writeConfig(): void;
  start(): Promise<this>;
  logTail(lines?: number): string;
  stop(graceMs?: number): Promise<void>;
  /** stop(), then remove the temp folder it made. */
  close(): Promise<void>;
  restart(): Promise<this>;
  userTurn(sessionKey: string, message: string, extra?: Record<string, unknown>): Promise<HookAnswer>;
}
