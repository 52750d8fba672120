import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { type ConnectorFrame, connectorFrameSchema, parseFrame, type RelayFrame } from "@clawrelay/protocol";
import { type WebSocket, WebSocketServer } from "ws";

/** Resolves when `predicate` holds for something pushed to the list, now or later. */
class Waitable<T> {
  readonly items: T[] = [];
  private waiters: { predicate: (item: T) => boolean; resolve: (item: T) => void; from: number }[] = [];

  push(item: T): void {
    this.items.push(item);
    const index = this.items.length - 1;
    this.waiters = this.waiters.filter((waiter) => {
      if (index >= waiter.from && waiter.predicate(item)) {
        waiter.resolve(item);
        return false;
      }
      return true;
    });
  }

  /** The first item at or after position `from` matching `predicate`. */
  waitFor(predicate: (item: T) => boolean = () => true, from = 0, timeoutMs = 5_000): Promise<T> {
    const found = this.items.slice(from).find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting (${timeoutMs} ms)`)), timeoutMs);
      this.waiters.push({
        predicate,
        from,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      });
    });
  }
}

export { Waitable };

export type ReceivedFrame = { kind: "text"; text: string } | { kind: "frame"; frame: ConnectorFrame };

export class RelayConnection {
  readonly received = new Waitable<ReceivedFrame>();
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(
    readonly socket: WebSocket,
    readonly headers: IncomingHttpHeaders,
    readonly path: string,
    autoPong: boolean,
  ) {
    this.closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    socket.on("message", (data, isBinary) => {
      const text = (data as Buffer).toString("utf8");
      if (!isBinary && text === "ping") {
        this.received.push({ kind: "text", text });
        if (autoPong) socket.send("pong");
        return;
      }
      const parsed = parseFrame(text, connectorFrameSchema);
      this.received.push(parsed.ok ? { kind: "frame", frame: parsed.frame } : { kind: "text", text });
    });
  }

  /** The next connector frame of `type` (counting from position `from`). */
  async frame<T extends ConnectorFrame["type"]>(
    type: T,
    from = 0,
    timeoutMs?: number,
  ): Promise<Extract<ConnectorFrame, { type: T }>> {
    const item = await this.received.waitFor(
      (entry) => entry.kind === "frame" && entry.frame.type === type,
      from,
      timeoutMs,
    );
    return (item as { kind: "frame"; frame: Extract<ConnectorFrame, { type: T }> }).frame;
  }

  send(frame: RelayFrame | string): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  ack(role: "active" | "standby" = "active", overrides: Partial<Extract<RelayFrame, { type: "reconnect_ack" }>> = {}) {
    this.send({
      type: "reconnect_ack",
      sessionId: "session-1",
      role,
      queuedCount: 0,
      lanes: { critical: 0, normal: 0, low: 0 },
      expiredCount: 0,
      expired: [],
      oldestQueuedAt: null,
      lastAckedId: null,
      resync: false,
      ...overrides,
    });
  }
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
/** A scripted answer, or a promise of one (to hold a request open); undefined answers 202. */
export type HttpScript = (request: RecordedRequest) => HttpAnswer | undefined | Promise<HttpAnswer | undefined>;

export interface FakeRelayOptions {
  autoPong?: boolean;
  /** Refuse upgrades with this answer instead of accepting them. */
  rejectUpgrade?: () => { status: number; body: unknown } | undefined;
  /** Runs on each accepted WebSocket, before the test sees it (e.g. to close it at once). */
  onConnection?: (connection: RelayConnection) => void;
  /** Answers for plain HTTP requests (the send API); default 202 with a fresh message id. */
  http?: HttpScript;
}

/** A stand-in relay: a real HTTP server with a real ws.WebSocketServer, scripted per test. */
export class FakeRelay {
  readonly connections = new Waitable<RelayConnection>();
  readonly requests = new Waitable<RecordedRequest>();
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private messageCounter = 0;
  port = 0;

  constructor(private readonly options: FakeRelayOptions = {}) {
    this.server = createServer((request, response) => this.onRequest(request, response));
    this.server.on("upgrade", (request, socket, head) => {
      const rejection = this.options.rejectUpgrade?.();
      if (rejection) {
        const text = JSON.stringify(rejection.body);
        socket.end(
          `HTTP/1.1 ${rejection.status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
        );
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        const connection = new RelayConnection(ws, request.headers, request.url ?? "", this.options.autoPong ?? true);
        this.options.onConnection?.(connection);
        this.connections.push(connection);
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setHttp(script: HttpScript): void {
    this.options.http = script;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const recorded: RecordedRequest = {
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      this.requests.push(recorded);
      const answer = (await this.options.http?.(recorded)) ?? {
        status: 202,
        body: {
          messageId: `msg-${++this.messageCounter}`,
          correlationId: String(request.headers["x-claw-correlation-id"] ?? "corr"),
          status: "queued",
          duplicate: false,
          expiresAt: Date.now() + 60_000,
          queueDepth: 1,
        },
      };
      const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
      response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      response.end(text);
    });
  }
}

/** A port nothing listens on: bind one, note it, release it. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
