import { CONNECTOR_DEFAULTS } from "@clawrelay/protocol";

export interface LocalTarget {
  host: string;
  port: number;
}

export interface LocalAnswer {
  status: number;
  body: unknown;
}

export class ConnectorUnreachableError extends Error {
  constructor(target: LocalTarget) {
    super(
      `no connector answering at http://${target.host}:${target.port} (is it running? see "clawrelay connector start")`,
    );
    this.name = "ConnectorUnreachableError";
  }
}

/** Where the CLI finds the local connector: flags, then CLAWRELAY_LISTEN_HOST/PORT, then the defaults. */
export function localTarget(
  options: { host?: string; port?: string },
  env: NodeJS.ProcessEnv = process.env,
): LocalTarget {
  const host = options.host ?? env.CLAWRELAY_LISTEN_HOST ?? CONNECTOR_DEFAULTS.listenHost;
  const portText = options.port ?? env.CLAWRELAY_LISTEN_PORT ?? String(CONNECTOR_DEFAULTS.listenPort);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`invalid port: ${portText}`);
  return { host, port };
}

/** One call to the connector's loopback API, with a timeout. */
export async function callLocalApi(
  target: LocalTarget,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<LocalAnswer> {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  let response: Response;
  try {
    response = await fetch(`http://${host}:${target.port}${path}`, {
      method,
      ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new ConnectorUnreachableError(target);
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}
