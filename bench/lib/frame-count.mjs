// A TCP proxy between connectors and the relay that counts what crosses it: HTTP requests, and
// after an upgrade the WebSocket frames each way, by opcode and by the JSON `type` of text frames.
// It exists so that the cost model counts the relay's billed WebSocket messages without a
// counter in product code. Bytes pass through unchanged; only copies are parsed.
import { connect, createServer } from "node:net";

const HTTP_REQUEST_LINE = /(?:^|\r\n)(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \/\S* HTTP\/1\.[01]\r\n/g;
const TYPE_FIELD = /"type"\s*:\s*"([a-z_]+)"/;
/**
 * Where a frame's `type` is looked for: its first bytes (most frames put it first), then, when it
 * is not there (a health report puts it last), the whole payload up to the cap.
 */
const TYPE_PEEK_BYTES = 256;
const TYPE_SEARCH_MAX_BYTES = 65_536;
const OPCODES = { 0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

export function emptyCounts() {
  return { httpRequests: 0, up: emptyDirection(), down: emptyDirection() };
}

/**
 * `autoResponses`: the connector's text `ping` and the relay's `pong`, which the runtime answers
 * for the session (setWebSocketAutoResponse in relay-session.ts) without waking it; kept apart
 * from `dataFrames`, the messages the session's webSocketMessage handles.
 */
function emptyDirection() {
  return { dataFrames: 0, autoResponses: 0, controlFrames: 0, byType: {} };
}

const AUTO_RESPONSES = new Set(["ping", "pong"]);

/**
 * Parses one direction of one connection: an HTTP head (request or response), then, when
 * `isUpgrade(head)` says so, WebSocket frames; on a plain HTTP connection only the request lines
 * of further keep-alive requests are counted.
 */
export class StreamTap {
  #pending = Buffer.alloc(0);
  /** "head" until the first blank line, then "frames" or "http". */
  #mode = "head";

  constructor(direction, counts, isUpgrade) {
    this.direction = direction;
    this.counts = counts;
    this.isUpgrade = isUpgrade;
  }

  push(chunk) {
    if (this.#mode === "http") {
      if (this.direction === "up") this.#countRequestLines(chunk.toString("latin1"));
      return;
    }
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#mode === "head") {
      const end = this.#pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.#pending.subarray(0, end).toString("latin1");
      if (this.direction === "up") this.#countRequestLines(head);
      this.#mode = this.isUpgrade(head) ? "frames" : "http";
      this.#pending = this.#mode === "frames" ? this.#pending.subarray(end + 4) : Buffer.alloc(0);
      if (this.#mode === "http") return;
    }
    this.#frames();
  }

  #countRequestLines(text) {
    this.counts.httpRequests += (text.match(HTTP_REQUEST_LINE) ?? []).length;
  }

  #frames() {
    const buf = this.#pending;
    let at = 0;
    for (;;) {
      if (buf.length - at < 2) break;
      const opcode = buf[at] & 0x0f;
      const masked = (buf[at + 1] & 0x80) !== 0;
      let length = buf[at + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = Number(buf.readBigUInt64BE(at + 2));
        header = 10;
      }
      const maskAt = at + header;
      if (masked) header += 4;
      if (buf.length - at < header + length) break;
      const payload = buf.subarray(at + header, at + header + length);
      const mask = masked ? buf.subarray(maskAt, maskAt + 4) : null;
      this.#count(opcode, (bytes) => {
        const part = payload.subarray(0, Math.min(payload.length, bytes));
        return (mask ? unmask(part, mask) : part).toString("utf8");
      });
      at += header + length;
    }
    this.#pending = at === 0 ? buf : buf.subarray(at);
  }

  /** `text(bytes)`: the first `bytes` of the payload, unmasked, as text. */
  #count(opcode, text) {
    const direction = this.counts[this.direction];
    if (opcode >= 8) {
      direction.controlFrames++;
      const name = OPCODES[opcode] ?? `opcode ${opcode}`;
      direction.byType[`(${name})`] = (direction.byType[`(${name})`] ?? 0) + 1;
      return;
    }
    if (opcode === 1 && AUTO_RESPONSES.has(text(5))) {
      direction.autoResponses++;
      direction.byType[`(${text(5)}, auto-response)`] = (direction.byType[`(${text(5)}, auto-response)`] ?? 0) + 1;
      return;
    }
    direction.dataFrames++;
    const type =
      opcode === 1
        ? (TYPE_FIELD.exec(text(TYPE_PEEK_BYTES)) ?? TYPE_FIELD.exec(text(TYPE_SEARCH_MAX_BYTES)))?.[1]
        : `(${OPCODES[opcode]})`;
    const key = type ?? "(text without a type)";
    direction.byType[key] = (direction.byType[key] ?? 0) + 1;
  }
}

function unmask(payload, mask) {
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i] ^ mask[i % 4];
  return out;
}

/** Listens on 127.0.0.1 and forwards every connection to `targetPort`, counting as it goes. */
export class FrameCountingProxy {
  counts = emptyCounts();
  #server;
  #sockets = new Set();

  constructor(server) {
    this.#server = server;
    this.url = `http://127.0.0.1:${server.address().port}`;
  }

  static async start(targetPort) {
    let proxy;
    const server = createServer((client) => proxy.#handle(client, targetPort));
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    proxy = new FrameCountingProxy(server);
    return proxy;
  }

  /** Counting starts again from zero (connections stay open). */
  reset() {
    const fresh = emptyCounts();
    for (const key of Object.keys(fresh)) this.counts[key] = fresh[key];
  }

  #handle(client, targetPort) {
    const upstream = connect(targetPort, "127.0.0.1");
    this.#sockets.add(client).add(upstream);
    const up = new StreamTap("up", this.counts, (head) => /\r\nupgrade:\s*websocket/i.test(head));
    const down = new StreamTap("down", this.counts, (head) => head.startsWith("HTTP/1.1 101"));
    // `reset()` replaces the fields of `counts`, never the object: the taps keep counting into it.
    client.on("data", (chunk) => up.push(chunk));
    upstream.on("data", (chunk) => down.push(chunk));
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.once("close", end).once("error", end);
    upstream.once("close", end).once("error", end);
  }

  async close() {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
