import { readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { errorBodySchema, parseFrame, type RelayFrame, relayFrameSchema } from "@clawrelay/protocol";
import { type Ed25519PrivateJwk, parsePrivateJwk, signRequest } from "@clawrelay/signing";
import WebSocket from "ws";

/** An agent identity as the CLI writes it (`clawrelay agent create`). */
export interface Identity {
  id: string;
  token: string;
  privateJwk: Ed25519PrivateJwk;
}

export function loadIdentity(dir: string, id: string): Identity {
  return {
    id,
    token: readFileSync(join(dir, "identity.jwt"), "utf8").trim(),
    privateJwk: parsePrivateJwk(JSON.parse(readFileSync(join(dir, "agent.private.jwk.json"), "utf8"))),
  };
}

export interface CallOptions {
  body?: string | null;
  /** null: no Content-Type at all. */
  contentType?: string | null;
  idempotencyKey?: string;
  correlationId?: string;
  timestamp?: number;
  nonce?: string;
  /** Sign with this token instead of the identity's. */
  token?: string;
  /** Change the headers after signing (tamper tests). */
  mutate?: (headers: Record<string, string>) => void;
}

export interface Answer {
  status: number;
  headers: Headers;
  json: unknown;
  /** `error.code` when the body is the JSON error shape of PROTOCOL.md §4, else null. */
  code: string | null;
}

export async function readAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  const error = errorBodySchema.safeParse(json);
  return { status: res.status, headers: res.headers, json, code: error.success ? error.data.error.code : null };
}

/** The headers of a signed request (PROTOCOL.md §3) as `signRequest` makes them, plus Content-Type. */
export async function signedHeaders(
  base: string,
  who: Identity,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Record<string, string>> {
  const body = options.body ?? null;
  const { headers } = await signRequest({
    token: options.token ?? who.token,
    privateKey: who.privateJwk,
    method,
    url: `${base}${path}`,
    body,
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
    ...(options.nonce ? { nonce: options.nonce } : {}),
  });
  if (body !== null && options.contentType !== null)
    headers["content-type"] = options.contentType ?? "application/json";
  options.mutate?.(headers);
  return headers;
}

export async function signedCall(
  base: string,
  who: Identity,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const headers = await signedHeaders(base, who, method, path, options);
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined && options.body !== null ? { body: options.body } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  return readAnswer(res);
}

export function sendMessage(base: string, from: Identity, to: string, body: unknown, options: CallOptions = {}) {
  return signedCall(base, from, "POST", `/v1/agents/${to}/messages`, { body: JSON.stringify(body), ...options });
}

/**
 * One raw HTTP/1.1 exchange over TCP, for what fetch refuses to send (NUL bytes, raw non-ASCII,
 * repeated headers). Resolves with the first complete answer (by Content-Length or chunked
 * framing), or with whatever arrived when the server closes the connection.
 */
export function rawExchange(
  port: number,
  head: string[],
  body: Buffer = Buffer.alloc(0),
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    let received = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = received.toString("utf8");
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? "0"), text });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("raw exchange timed out"));
    }, 15_000);
    socket.on("connect", () => {
      socket.write(
        Buffer.concat([Buffer.from(`${[...head, "Connection: close"].join("\r\n")}\r\n\r\n`, "latin1"), body]),
      );
    });
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (answerComplete(received)) finish();
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", finish);
  });
}

function answerComplete(bytes: Buffer): boolean {
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) return false;
  const head = bytes.subarray(0, end).toString("latin1");
  const rest = bytes.subarray(end + 4);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (length !== undefined) return rest.length >= Number(length);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head))
    return rest.includes("\r\n0\r\n\r\n") || rest.subarray(0, 5).toString() === "0\r\n\r\n";
  return false;
}

/** The error code in a raw answer's body (the §4 JSON shape, possibly chunked), or null. */
export function rawErrorCode(text: string): string | null {
  return /"code":"([a-z_]+)"/.exec(text)?.[1] ?? null;
}

/** A connector stand-in over a real `ws` WebSocket: frames queue up; `next(type)` waits for one. */
export class WsClient {
  readonly frames: RelayFrame[] = [];
  closeCode: number | null = null;
  private wake: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? "" : String(data);
      const parsed = parseFrame(text, relayFrameSchema);
      if (parsed.ok) this.frames.push(parsed.frame);
      this.notify();
    });
    ws.on("close", (code) => {
      this.closeCode = code;
      this.notify();
    });
  }

  private notify(): void {
    for (const resolve of this.wake.splice(0)) resolve();
  }

  private async until<T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${this.frames.map((f) => f.type)}`);
      await new Promise<void>((resolve) => {
        this.wake.push(resolve);
        setTimeout(resolve, Math.min(left, 250));
      });
    }
  }

  next<T extends RelayFrame["type"]>(type: T, timeoutMs = 10_000): Promise<Extract<RelayFrame, { type: T }>> {
    return this.until(
      () => {
        const index = this.frames.findIndex((f) => f.type === type);
        return index < 0 ? undefined : (this.frames.splice(index, 1)[0] as Extract<RelayFrame, { type: T }>);
      },
      `a ${type} frame`,
      timeoutMs,
    );
  }

  /** Message and receipt items from deliver frames until `count` arrived. */
  async items(count: number, timeoutMs = 10_000) {
    const out: Extract<RelayFrame, { type: "deliver" }>["items"] = [];
    while (out.length < count) out.push(...(await this.next("deliver", timeoutMs)).items);
    return out;
  }

  closed(timeoutMs = 10_000): Promise<number> {
    return this.until(() => this.closeCode ?? undefined, "the socket to close", timeoutMs);
  }

  /** Text as is, bytes as a binary frame, anything else as JSON text. */
  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  }

  reconnect(options: { connectorId?: string; lastReceivedId?: string | null; offlineSinceMs?: number | null } = {}) {
    this.send({
      type: "reconnect",
      connectorId: options.connectorId ?? "bad-input-e2e",
      lastReceivedId: options.lastReceivedId ?? null,
      offlineSinceMs: options.offlineSinceMs ?? null,
      mode: "auto",
    });
    return this.next("reconnect_ack");
  }

  close(): void {
    this.ws.close(1000);
  }
}

/** Open a connector WebSocket with signed headers; rejects with the HTTP status when the upgrade is refused. */
export async function openSocket(base: string, who: Identity, connectorId = "bad-input-e2e"): Promise<WsClient> {
  const path = `/v1/agents/${who.id}/connect`;
  const headers = await signedHeaders(base, who, "GET", path);
  headers["x-claw-connector-id"] = connectorId;
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}${path}`, { headers, handshakeTimeout: 10_000 });
  const client = new WsClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
  return client;
}
