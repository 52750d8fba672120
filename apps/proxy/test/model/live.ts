import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { PolicyBody } from "@clawrelay/protocol";
import { expect } from "vitest";
import type { SessionStatus } from "../../src/session/observation/status.js";
import type { MessageRecord } from "../../src/session/queue/records.js";
import { sendMessage, type TestAgent } from "../support/agents.js";
import { setClock } from "../support/clock.js";
import { fetchDirect } from "../support/direct.js";
import { connect, sessionStub, type TestSocket } from "../support/socket.js";
import { ADMIN, type RecipientPool } from "./live-agents.js";
import type { PeerRule, SendRequest } from "./reference.js";

/** How long a barrier or an expected frame may take before the run counts as failed. */
const WAIT_MS = 3000;

function connectionIdOf(ws: WebSocket): string {
  const data: unknown = ws.deserializeAttachment();
  if (typeof data === "object" && data !== null && "connectionId" in data && typeof data.connectionId === "string")
    return data.connectionId;
  return "";
}

async function until(condition: () => boolean, what: string): Promise<void> {
  // performance.now(): the run's `Date` stands still (see LiveSession).
  const deadline = performance.now() + WAIT_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

export interface SendResult {
  status: number;
  json: Record<string, unknown>;
  retryAfter: string | null;
}

/**
 * The real relay session under test, in workerd: a fresh recipient agent per run, sends through
 * the Worker (signed HTTP), a real WebSocket for the connector. The session's clock is pinned to
 * the model's (`clock.now`: the test isolate's `Date`, standing still between the model's steps),
 * a day ahead of the wall clock so no alarm ever fires on its own;
 * time moves only when the test fires the alarm. Frame and close handlers are wrapped to count
 * what the session has handled, so each step waits for exactly that and never sleeps.
 */
export class LiveSession {
  socket: TestSocket | null = null;
  connectionId: string | null = null;
  /** A second connector, connected as standby. */
  standby: { socket: TestSocket; connectionId: string; connectorId: string } | null = null;
  private activeConnectorId: string | null = null;
  /** The active socket never pings (a sleeping machine): its last sign of life is its connect. */
  private sleepy = false;
  private connectorSerial = 0;
  private readonly handled = new Map<string, number>();
  private readonly framesSent = new Map<string, number>();
  private readonly closed = new Set<string>();

  private constructor(
    readonly recipient: TestAgent,
    readonly senders: TestAgent[],
    readonly clock: { now: number },
  ) {}

  /**
   * A fresh recipient per run (its queue starts empty); senders are shared by the runs of a file
   * (a new session costs tens of milliseconds to create), and each run sends to its own recipient.
   */
  static async open(
    recipients: RecipientPool,
    senders: TestAgent[],
    rules: Record<number, PeerRule>,
    start: number,
  ): Promise<LiveSession> {
    const recipient = await recipients.take();
    const live = new LiveSession(recipient, senders, { now: start });
    await setClock(sessionStub(recipient.id), start, false);
    await runInDurableObject(sessionStub(recipient.id), (instance) => {
      const onMessage = instance.webSocketMessage.bind(instance);
      const onClose = instance.webSocketClose.bind(instance);
      instance.webSocketMessage = async (ws, message) => {
        await onMessage(ws, message);
        const id = connectionIdOf(ws);
        live.handled.set(id, (live.handled.get(id) ?? 0) + 1);
      };
      instance.webSocketClose = async (ws, code, reason) => {
        const id = connectionIdOf(ws);
        await onClose(ws, code, reason);
        live.closed.add(id);
      };
    });
    const peers: NonNullable<PolicyBody["peers"]> = {};
    for (const [index, rule] of Object.entries(rules)) {
      const sender = senders[Number(index)];
      if (sender) peers[sender.id] = rule;
    }
    if (Object.keys(peers).length > 0) {
      const put = await sessionStub(recipient.id).putPolicy(recipient.id, ADMIN, { peers });
      expect(put.ok).toBe(true);
    }
    return live;
  }

  senderId(index: number): string {
    const sender = this.senders[index];
    if (!sender) throw new Error(`no sender ${index}`);
    return sender.id;
  }

  async send(request: SendRequest): Promise<SendResult> {
    const sender = this.senders[request.sender];
    if (!sender) throw new Error(`no sender ${request.sender}`);
    const res = await sendMessage(
      sender,
      this.recipient.id,
      request.body,
      request.key ? { idempotencyKey: request.key, via: fetchDirect } : { via: fetchDirect },
    );
    return {
      status: res.status,
      json: (await res.json()) as Record<string, unknown>,
      retryAfter: res.headers.get("retry-after"),
    };
  }

  /** Send a frame on the open socket and wait until the session has handled it. */
  async frame(frame: unknown): Promise<void> {
    const { socket, connectionId } = this.requireSocket();
    const sent = (this.framesSent.get(connectionId) ?? 0) + 1;
    this.framesSent.set(connectionId, sent);
    socket.send(frame);
    await until(() => (this.handled.get(connectionId) ?? 0) >= sent, "the session to handle a frame");
  }

  /**
   * Move the session's clock and run its alarm, as time passing would. Open sockets ping first,
   * as a connector does — all but a sleepy active one.
   */
  async advance(ms: number): Promise<boolean> {
    this.clock.now += ms;
    await setClock(sessionStub(this.recipient.id), this.clock.now, false);
    if (this.socket && !this.sleepy) await this.socket.ping();
    if (this.standby) await this.standby.socket.ping();
    return runDurableObjectAlarm(sessionStub(this.recipient.id));
  }

  /**
   * The alarm closed the (silent) active socket: with 1011, and the standby, if there was one,
   * is now the active one.
   */
  async closedBySession(failover: boolean): Promise<void> {
    const { socket } = this.requireSocket();
    expect(await socket.closed(WAIT_MS), "the silent active socket's close code").toBe(1011);
    this.socket = null;
    this.connectionId = null;
    this.sleepy = false;
    if (failover) await this.promoted();
  }

  /** The standby was told it is active (a `role` frame); it is the socket items go to from now. */
  async promoted(): Promise<void> {
    const standby = this.standby;
    if (!standby) throw new Error("no standby to promote");
    expect(await standby.socket.next("role", WAIT_MS)).toMatchObject({ role: "active" });
    this.standby = null;
    this.socket = standby.socket;
    this.connectionId = standby.connectionId;
    this.activeConnectorId = standby.connectorId;
    this.sleepy = false;
  }

  /** Another connector joins while one is active: it gets the standby role. */
  async connectStandby() {
    const connectorId = `model-connector-${++this.connectorSerial}`;
    const { socket, ack } = await connect(this.recipient, { connectorId, via: fetchDirect });
    this.standby = { socket, connectionId: ack.sessionId, connectorId };
    this.framesSent.set(ack.sessionId, 1);
    return ack;
  }

  /** Run the alarm without moving the clock (work already due, such as a receipt flush). */
  async runDueAlarm(): Promise<void> {
    await runDurableObjectAlarm(sessionStub(this.recipient.id));
  }

  async disconnect(): Promise<void> {
    const { socket, connectionId } = this.requireSocket();
    socket.close(1000);
    this.socket = null;
    this.connectionId = null;
    await until(() => this.closed.has(connectionId), "the session to see the socket close");
  }

  /** Open a socket and handshake; an open one is replaced (same connector) or taken over (another). */
  async connect(lastReceivedId: string | null, offlineSinceMs: number | null, takeover: boolean, sleepy: boolean) {
    const previous = this.socket;
    // A replacement comes from the active one's own connector; a first connect or a takeover from a new one.
    const connectorId =
      previous && !takeover && this.activeConnectorId
        ? this.activeConnectorId
        : `model-connector-${++this.connectorSerial}`;
    const { socket, ack } = await connect(this.recipient, {
      connectorId,
      mode: takeover ? "takeover" : "auto",
      lastReceivedId,
      offlineSinceMs,
      via: fetchDirect,
    });
    if (previous) expect(await previous.closed(WAIT_MS)).toBe(4001);
    this.socket = socket;
    this.connectionId = ack.sessionId;
    this.activeConnectorId = connectorId;
    this.sleepy = sleepy;
    this.framesSent.set(ack.sessionId, 1);
    return ack;
  }

  async status(): Promise<{ clock: number; status: SessionStatus }> {
    return runInDurableObject(sessionStub(this.recipient.id), async (instance) => {
      const outcome = await instance.status(this.recipient.id, ADMIN);
      if (!outcome.ok) throw new Error(`status failed: ${outcome.code}`);
      return { clock: Date.now(), status: outcome.value };
    });
  }

  async records(ids: string[]): Promise<(MessageRecord | string)[]> {
    return runInDurableObject(sessionStub(this.recipient.id), async (instance) => {
      const out: (MessageRecord | string)[] = [];
      for (const id of ids) {
        const outcome = await instance.getMessage(this.recipient.id, ADMIN, id);
        out.push(outcome.ok ? outcome.value : outcome.code);
      }
      return out;
    });
  }

  /** Receipts waiting in a sender's own session (they travel as critical items there). */
  async receiptsHeldFor(index: number): Promise<number> {
    const id = this.senderId(index);
    const outcome = await sessionStub(id).status(id, ADMIN);
    if (!outcome.ok) throw new Error(`sender status failed: ${outcome.code}`);
    return outcome.value.queue.receipts.items;
  }

  /** End the run with the socket closed as the session saw it, so nothing of this run is left going. */
  async close(): Promise<void> {
    const standby = this.standby;
    if (standby) {
      // The standby first, so closing the active one promotes nobody.
      this.standby = null;
      standby.socket.close(1000);
      await until(() => this.closed.has(standby.connectionId), "the session to see the standby close");
    }
    if (this.socket) await this.disconnect();
  }

  private requireSocket(): { socket: TestSocket; connectionId: string } {
    if (!this.socket || !this.connectionId) throw new Error("no open socket");
    return { socket: this.socket, connectionId: this.connectionId };
  }
}
