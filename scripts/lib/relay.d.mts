export const ROOT: string;
export const CLI: string;
export function cli(args: string[], options?: Record<string, unknown>): string;
export function ensureCliBuilt(): void;
export interface RelayVars {
  ADMIN_TOKEN: string;
  RELAY_SIGNING_JWK: string;
  RELAY_ORIGIN: string;
  REGISTRY_JWKS: string;
  TRUSTED_RELAYS: string;
  [name: string]: string;
}
export function prepareRelayHome(options: {
  home: string;
  origin: string;
  iss?: string;
  extraRegistries?: Record<string, unknown>;
  trustedRelays?: unknown[];
}): Promise<RelayVars>;
export function ensureAgent(home: string, id: string, relayOrigin: string): string;
export function waitForHealth(url: string, timeoutMs?: number): Promise<void>;
export interface RunningRelay {
  url: string;
  pid: number;
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
  /** Resolves once no process of the wrangler/workerd group is left (rejects after timeoutMs, default 10 s). */
  groupGone(timeoutMs?: number): Promise<void>;
}
export function startRelay(options: {
  home: string;
  port: number;
  vars: Record<string, string>;
  logLevel?: string;
  stdio?: "pipe" | "inherit";
  onOutput?: (text: string) => void;
  /** The worker's V8 inspector (CPU profiles); 0 (default) lets the OS pick. */
  inspectorPort?: number;
}): Promise<RunningRelay>;
export class LocalRelay {
  static start(options?: {
    home?: string;
    port?: number;
    extraVars?: Record<string, string>;
    iss?: string;
    logLevel?: string;
    trustedRelays?: unknown[];
    /** More trusted registries, `{ "<iss>": <JWKS> }`, beside this relay's own dev registry. */
    extraRegistries?: Record<string, unknown>;
    /** The worker's V8 inspector port (CPU profiles); 0 (default) lets the OS pick. */
    inspectorPort?: number;
  }): Promise<LocalRelay>;
  inspectorPort: number;
  readonly home: string;
  readonly port: number;
  vars: RelayVars;
  output: string[];
  readonly url: string;
  readonly pid: number | undefined;
  agent(id: string): string;
  restart(): Promise<void>;
  crash(): Promise<void>;
  stop(): Promise<void>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
}
