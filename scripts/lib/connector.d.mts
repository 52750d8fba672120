export function freePort(): Promise<number>;
export function waitUntil(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  intervalMs?: number,
): Promise<void>;
export interface ConnectorOptions {
  agentId: string;
  identityDir: string;
  relayUrls: string[];
  hookUrl: string;
  dataDir: string;
  connectorId?: string;
  takeover?: boolean;
  port?: number;
  extra?: Record<string, unknown>;
  /** Added to the daemon's environment on every start (e.g. CLAWRELAY_API_TOKEN). */
  env?: Record<string, string>;
  /** Flags for node itself, before the CLI path (e.g. ["--cpu-prof"] for the benchmarks' profiles). */
  nodeArgs?: string[];
  /** Run instead of `clawrelay connector start`, before `--config <file>` (the chaos harness's own entry). */
  entry?: string[];
}
export class ConnectorProcess {
  constructor(options: ConnectorOptions);
  options: ConnectorOptions;
  logs: string[];
  port: number;
  /** The loopback API's bearer token, known once `start()` has returned; `api()` sends it. */
  token: string | null;
  configPath: string;
  onLog: ((line: string) => void) | null;
  readonly url: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  start(): Promise<this>;
  events(event: string): Record<string, unknown>[];
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
  send(
    to: string,
    payload: unknown,
    extra?: Record<string, unknown>,
  ): Promise<{ status: number; json: { outboundId: string; correlationId: string; state: string } }>;
  status(): Promise<{ status: number; json: Record<string, unknown> }>;
  stop(): Promise<number | null>;
  kill(): Promise<number | null>;
  signal(signal: NodeJS.Signals): Promise<number | null>;
}
