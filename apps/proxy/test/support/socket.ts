import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { type MessageItem, parseFrame, type RelayFrame, relayFrameSchema } from "@clawrelay/protocol";
import { signRequest } from "@clawrelay/signing";
import { ORIGIN, type TestAgent } from "./agents.js";
import { advanceClockBy } from "./clock.js";
import type { Fetcher } from "./direct.js";

type FrameOf<T extends RelayFrame["type"]> = Extract<RelayFrame, { type: T }>;

/** Sockets a test opened and nobody closed yet; `closeOpenSockets` ends them after each file. */
const openTestSockets = new Set<TestSocket>();

/**
 * A connector stand-in over a real WebSocket to the Worker under test. Frames are queued as they
 * arrive; `next(type)` waits for the next frame of that type (others stay queued, in order).
 */
export class TestSocket {
  readonly frames: RelayFrame[] = [];
  readonly raw: string[] = [];
  closeCode: number | null = null;
  closeReason = "";
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    openTestSockets.add(this);
    ws.addEventListener("message", (event) => {
      const data = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer);
      this.raw.push(data);
      const parsed = parseFrame(data, relayFrameSchema);
      if (parsed.ok) this.frames.push(parsed.frame);
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      openTestSockets.delete(this);
      this.closeCode = event.code;
      this.closeReason = event.reason;
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async until<T>(find: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    // performance.now(): a test may have stopped `Date` (support/clock.ts).
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (performance.now() > deadline)
        throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Wait for (and consume) the next frame of a type. */
  async next<T extends RelayFrame["type"]>(type: T, timeoutMs?: number): Promise<FrameOf<T>> {
    return this.until(
      () => {
        const index = this.frames.findIndex((f) => f.type === type);
        if (index < 0) return undefined;
        return this.frames.splice(index, 1)[0] as FrameOf<T>;
      },
      `a ${type} frame`,
      timeoutMs,
    );
  }

  /** Collect delivered items until `count` have arrived (consuming deliver frames). */
  async items(count: number, timeoutMs?: number) {
    const out: FrameOf<"deliver">["items"] = [];
    while (out.length < count) out.push(...(await this.next("deliver", timeoutMs)).items);
    return out;
  }

  /** Like `items`, for message items only (fails on a receipt). */
  async messages(count: number, timeoutMs?: number): Promise<MessageItem[]> {
    const items = await this.items(count, timeoutMs);
    return items.map((item) => {
      if (item.kind !== "message") throw new Error(`expected a message item, got a ${item.kind}`);
      return item;
    });
  }

  async closed(timeoutMs?: number): Promise<number> {
    return this.until(() => this.closeCode ?? undefined, "close", timeoutMs);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Send `ping` and wait for the runtime's `pong` (this refreshes the socket's last ping time). */
  async ping(): Promise<void> {
    const before = this.raw.filter((r) => r === "pong").length;
    this.ws.send("ping");
    await this.until(() => (this.raw.filter((r) => r === "pong").length > before ? true : undefined), "pong");
  }

  ack(ids: string[]): void {
    this.send({ type: "ack", ids });
  }

  close(code = 1000): void {
    this.ws.close(code, "test");
  }
}

/**
 * Close every socket a test file left open and wait for the session to see it. Otherwise the
 * runtime closes them at teardown, and the session's close handler logs while vitest is already
 * shutting the worker's RPC down ("Closing rpc while onUserConsoleLog was pending").
 */
export async function closeOpenSockets(): Promise<void> {
  const sockets = [...openTestSockets];
  for (const socket of sockets) socket.close();
  await Promise.all(sockets.map((socket) => socket.closed(5000).catch(() => undefined)));
}

export interface ConnectOptions {
  connectorId?: string;
  mode?: "auto" | "takeover";
  lastReceivedId?: string | null;
  offlineSinceMs?: number | null;
  /** Skip sending the reconnect frame (handshake tests). */
  noHandshake?: boolean;
  /** How the upgrade reaches the Worker (default SELF; the model test uses `fetchDirect`). */
  via?: Fetcher;
}

export async function openSocket(
  agent: TestAgent,
  options: ConnectOptions = {},
): Promise<{ socket: TestSocket; res: Response }> {
  const url = `${ORIGIN}/v1/agents/${agent.id}/connect`;
  const { headers } = await signRequest({ token: agent.token, privateKey: agent.privateJwk, method: "GET", url });
  headers.upgrade = "websocket";
  if (options.connectorId) headers["x-claw-connector-id"] = options.connectorId;
  const request = new Request(url, { headers });
  const res = await (options.via ? options.via(request) : exports.default.fetch(request));
  if (!res.webSocket) throw new Error(`no websocket: HTTP ${res.status} ${await res.text()}`);
  res.webSocket.accept();
  return { socket: new TestSocket(res.webSocket), res };
}

/** Open, send `reconnect`, and wait for `reconnect_ack`. */
export async function connect(agent: TestAgent, options: ConnectOptions = {}) {
  const { socket } = await openSocket(agent, options);
  socket.send({
    type: "reconnect",
    connectorId: options.connectorId ?? `conn-${agent.id}`,
    lastReceivedId: options.lastReceivedId ?? null,
    offlineSinceMs: options.offlineSinceMs ?? null,
    mode: options.mode ?? "auto",
  });
  const ack = await socket.next("reconnect_ack");
  return { socket, ack };
}

export function sessionStub(agentId: string) {
  return env.RELAY_SESSION.get(env.RELAY_SESSION.idFromName(agentId));
}

/** Move the clock forward, as `agentId`'s session (and everything else) sees it: support/clock.ts. */
export async function advanceClock(agentId: string, ms: number): Promise<void> {
  await advanceClockBy(sessionStub(agentId), ms);
}

export async function fireAlarm(agentId: string): Promise<boolean> {
  return runDurableObjectAlarm(sessionStub(agentId));
}
