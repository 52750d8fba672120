import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import plugin from "../../index.mjs";

// A small HTTP server standing in for the connector's loopback API (the edge of the world), and
// the plugin registered against a stand-in OpenClaw `api`.
export const TOKEN = "test-api-token-0123456789abcdef";
export const SESSION = "agent:main:hook:clawrelay:bob:c1";

export interface Call {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}
export type Route = (call: Call, res: ServerResponse) => void;

export const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
};
export const refuse = (res: ServerResponse, status: number, code: string, extra: object = {}) =>
  json(res, status, { error: { code, message: `${code} from the connector`, correlationId: "corr-test-1", ...extra } });

/** Checks the bearer token as the connector does, then answers with `route`. */
export class FakeConnector {
  calls: Call[] = [];
  route: Route = (_call, res) => json(res, 202, accepted);
  #server: Server | null = null;
  url = "";

  async start() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const call = {
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: text ? JSON.parse(text) : undefined,
        };
        this.calls.push(call);
        const auth = req.headers.authorization;
        if (auth === undefined) return refuse(res, 401, "missing_credentials");
        if (auth !== `Bearer ${TOKEN}`) return refuse(res, 401, "invalid_token");
        this.route(call, res);
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close() {
    return new Promise<void>((resolve) => {
      this.#server?.close(() => resolve());
      this.#server?.closeAllConnections();
    });
  }
}

export const accepted = {
  outboundId: "out_01JTEST",
  correlationId: "corr-01JTEST",
  conversationId: "conv-01JTEST",
  state: "queued",
};

export interface Tool {
  name: string;
  description: string;
  parameters: { properties: Record<string, unknown> };
  catalogMode: string;
  execute(
    toolCallId: string,
    params: unknown,
    signal?: AbortSignal,
  ): Promise<{ content: { text: string }[]; details: Record<string, unknown> }>;
}

export type Ctx = { sessionKey?: string; agentId?: string };

/** Register the plugin against a stand-in api that records each tool factory. */
export function load(pluginConfig: Record<string, unknown>, ctx: Ctx = { sessionKey: SESSION, agentId: "main" }) {
  const factories = new Map<string, (ctx: Ctx) => object>();
  plugin.register({
    pluginConfig,
    registerTool: (factory: (ctx: Ctx) => object, options: { name: string }) => {
      factories.set(options.name, factory);
    },
  });
  const tool = (name: string) => {
    const factory = factories.get(name);
    if (!factory) throw new Error(`no tool ${name}`);
    return factory(ctx) as Tool;
  };
  return { names: [...factories.keys()], send: tool("clawrelay_send"), status: tool("clawrelay_status") };
}

/** The error a tool call threw: a plain message for the model, a code for the test. */
export async function failure(run: Promise<unknown>): Promise<{ code: string; message: string; stack?: string }> {
  const error = await run.then(
    () => {
      throw new Error("the tool call succeeded");
    },
    (e: unknown) => e as { code: string; message: string },
  );
  expect(error).toBeInstanceOf(Error);
  return error;
}
