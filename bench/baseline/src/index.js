// The physical limit of the platform for clawrelay's trip: a POST reaches a Durable Object by
// RPC, is inserted into its SQLite, and is pushed on a hibernatable WebSocket. Nothing else: no
// signatures, no nonces, no lanes, caps, acks, records or receipts. Plain JS on purpose, so the
// repository's TypeScript projects never see it.
import { DurableObject } from "cloudflare:workers";

const PAGE = 64;
const AGENT_PATH = /^\/v1\/agents\/([a-z0-9][a-z0-9._-]{2,63})\/(messages|connect|fill)$/;

export class BaselineSession extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY AUTOINCREMENT, payload TEXT NOT NULL)",
    );
  }

  /** One message: insert, then push to every connected client. */
  send(payload) {
    const row = this.ctx.storage.sql.exec("INSERT INTO items (payload) VALUES (?) RETURNING seq", payload).one();
    const frame = `{"items":[{"seq":${row.seq},"payload":${payload}}]}`;
    for (const ws of this.ctx.getWebSockets()) ws.send(frame);
    return { seq: row.seq };
  }

  /** Build a backlog without a socket (the bench measures its drain, not how it was made). */
  fill(count, payload) {
    for (let i = 0; i < count; i++) this.ctx.storage.sql.exec("INSERT INTO items (payload) VALUES (?)", payload);
    return { count };
  }

  async fetch(_request) {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    // Everything stored so far goes out in pages of up to 64 items a frame, like clawrelay's deliver frames.
    let after = 0;
    for (;;) {
      const rows = this.ctx.storage.sql
        .exec("SELECT seq, payload FROM items WHERE seq > ? ORDER BY seq LIMIT ?", after, PAGE)
        .toArray();
      if (rows.length === 0) break;
      server.send(`{"items":[${rows.map((r) => `{"seq":${r.seq},"payload":${r.payload}}`).join(",")}]}`);
      after = rows[rows.length - 1].seq;
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage() {}

  webSocketClose(ws, code) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "bye");
    } catch {
      // already closed
    }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return Response.json({ status: "ok" });
    const match = AGENT_PATH.exec(url.pathname);
    if (!match) return new Response("not found", { status: 404 });
    const [, agentId, action] = match;
    const session = env.BASELINE_SESSION.get(env.BASELINE_SESSION.idFromName(agentId));
    if (action === "connect") return session.fetch(request);
    if (request.method !== "POST") return new Response("method not allowed", { status: 405 });
    const body = await request.text();
    if (action === "fill") {
      const count = Number(url.searchParams.get("count") ?? "0");
      return Response.json(await session.fill(count, body));
    }
    return Response.json(await session.send(body), { status: 202 });
  },
};
