import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Waitable } from "./fake-relay.js";

export interface HookCall {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

/** `body` defaults to `{}`. */
export type HookAnswer = { status: number; headers?: Record<string, string>; body?: string } | "hang";

/** A stand-in agent: a real HTTP server recording every hook call and answering as scripted. */
export class HookServer {
  readonly calls = new Waitable<HookCall>();
  private readonly server: Server;
  private readonly hanging: (() => void)[] = [];
  port = 0;

  constructor(
    public answer: (call: HookCall, index: number) => HookAnswer | Promise<HookAnswer> = () => ({ status: 200 }),
  ) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const call: HookCall = {
          path: request.url ?? "",
          headers: request.headers,
          body: text.length > 0 ? JSON.parse(text) : null,
          at: Date.now(),
        };
        const index = this.calls.items.length;
        this.calls.push(call);
        const answer = await this.answer(call, index);
        if (answer === "hang") {
          this.hanging.push(() => response.destroy());
          return;
        }
        response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        response.end(answer.body ?? "{}");
      });
    });
  }

  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const release of this.hanging) release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
