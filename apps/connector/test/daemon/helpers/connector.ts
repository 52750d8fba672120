import { readApiToken } from "../../../src/daemon/api-token.js";
import type { Clock } from "../../../src/daemon/clock.js";
import { type ConnectorConfigInput, parseConnectorConfig } from "../../../src/daemon/config.js";
import { type RunningConnector, startConnector } from "../../../src/daemon/daemon.js";
import { captureLogger } from "./common.js";
import { type TestIdentity, testIdentity } from "./signer.js";

export interface TestConnector {
  connector: RunningConnector;
  logs: ReturnType<typeof captureLogger>;
  identity: TestIdentity;
  /** The API token the connector made in its data dir. */
  token: string;
  /** A call to the loopback API with the token (headers in `init` are added to it). */
  api: (path: string, init?: RequestInit) => Promise<{ status: number; headers: Headers; body: unknown }>;
}

/** A connector on port 0 with a real store in `dataDir`, signing with a fresh test key. */
export async function startTestConnector(
  input: Partial<ConnectorConfigInput> & { dataDir: string; relayUrls: string[]; hookUrl: string },
  deps: { clock?: Clock; random?: () => number } = {},
): Promise<TestConnector> {
  const config = parseConnectorConfig({
    agentId: "bob-agent",
    identityDir: input.dataDir,
    listen: { host: "127.0.0.1", port: 0 },
    reconnectMinMs: 20,
    reconnectMaxMs: 100,
    hookBackoffBaseMs: 5,
    hookBackoffMaxMs: 20,
    outboxBackoffBaseMs: 5,
    outboxBackoffMaxMs: 20,
    shutdownGraceMs: 100,
    ...input,
  });
  const logs = captureLogger();
  const identity = await testIdentity();
  const connector = await startConnector(config, {
    signer: identity.signer,
    logger: logs.logger,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.random ? { random: deps.random } : {}),
  });
  const token = config.apiToken ?? readApiToken(config.dataDir);
  if (token === undefined) throw new Error("the connector made no API token");
  const api: TestConnector["api"] = async (path, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    const response = await fetch(`http://127.0.0.1:${connector.port}${path}`, { ...init, headers });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  };
  return { connector, logs, identity, token, api };
}

export function postJson(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}
