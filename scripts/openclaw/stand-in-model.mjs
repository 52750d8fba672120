// A stand-in model for real OpenClaw gateways (the edge of the world in the tests and the
// OpenClaw demo): an OpenAI-compatible server on loopback — `GET /v1/models` and a streamed
// `POST /v1/chat/completions` — whose answers a script decides. Every request is recorded
// (the turn's text, the session it belongs to, the tool results seen) so a test can assert
// that a turn's text reached the model, not merely that a hook answered 200.
import { createServer } from "node:http";

export const STAND_IN_MODEL_ID = "scripted";

// OpenClaw adds this block as an extra user message after the turn's text and after every
// tool result; it is no user's words.
const INTERNAL_CONTEXT = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>";

/** The text of a chat message's content (a string or an array of parts). */
export function contentText(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => (typeof part === "string" ? part : typeof part?.text === "string" ? part.text : ""))
    .join("");
}

/**
 * What a script needs to know about one chat request: the last real user message (the turn's
 * text, OpenClaw's internal-context blocks skipped), the tool results that came after it (so a
 * script calls a tool once per turn, never again on the tool's own result), and the session.
 */
export function describeRequest(body) {
  const messages = Array.isArray(body?.messages) ? body.messages : [];
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === "user" && !contentText(m.content).includes(INTERNAL_CONTEXT)) {
      lastUser = i;
      break;
    }
  }
  const after = lastUser < 0 ? [] : messages.slice(lastUser + 1);
  const toolResults = after.filter((m) => m?.role === "tool").map((m) => contentText(m.content));
  const tools = (Array.isArray(body?.tools) ? body.tools : []).map((t) => t?.function?.name).filter(Boolean);
  return {
    userText: lastUser < 0 ? "" : contentText(messages[lastUser].content),
    toolResults,
    tools,
    sessionKey: sessionKeyOf(messages),
    system: contentText(messages.find((m) => m?.role === "system")?.content),
    messages,
  };
}

// OpenClaw sends no session header or field (checked on 2026.9.6), but the first turn of a
// session carries a "Runtime: agent=<id> | session=<key> | …" line, and every later turn of
// the same persistent session repeats that first turn in its history: the first such line of
// a request names the session the request belongs to.
const RUNTIME_SESSION = /Runtime: agent=\S+ \| session=(\S+)/;

function sessionKeyOf(messages) {
  for (const m of messages) {
    if (m?.role !== "user" && m?.role !== "system") continue;
    const found = RUNTIME_SESSION.exec(contentText(m.content));
    if (found) return found[1];
  }
  return null;
}

/**
 * `script(request)` answers each call: `{ text }` or `{ tool: name, args }`. A tool not in the
 * request's own tool list is called through OpenClaw's Tool Search (`tool_call {id, args}`),
 * which reaches the same tool. `maxToolCalls` caps the requests answered with a tool call; beyond
 * it every answer is text, so a script mistake ends in a failed test, not an endless loop.
 */
export class StandInModel {
  requests = [];
  url = "";
  onRequest = null;
  #server = null;
  #waiters = [];
  #toolCalls = 0;
  #serial = 0;

  constructor({ script = () => ({ text: "ok" }), maxToolCalls = 50, model = STAND_IN_MODEL_ID } = {}) {
    this.script = script;
    this.maxToolCalls = maxToolCalls;
    this.model = model;
  }

  async start(port = 0) {
    this.#server = createServer((req, res) => this.#handle(req, res));
    await new Promise((resolve) => this.#server.listen(port, "127.0.0.1", resolve));
    this.port = this.#server.address().port;
    this.url = `http://127.0.0.1:${this.port}/v1`;
    return this;
  }

  #handle(req, res) {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (req.method === "GET" && path === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ id: this.model, object: "model", owned_by: "clawrelay" }] }));
        return;
      }
      if (req.method !== "POST" || path !== "/v1/chat/completions") {
        res.writeHead(404).end();
        return;
      }
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400).end();
        return;
      }
      const request = { at: Date.now(), ...describeRequest(body), body };
      this.requests.push(request);
      let answer;
      try {
        answer = this.script(request) ?? { text: "ok" };
      } catch (error) {
        answer = { text: `stand-in script failed: ${error instanceof Error ? error.message : error}` };
      }
      if (answer.tool && ++this.#toolCalls > this.maxToolCalls) answer = { text: "tool call cap reached" };
      request.answer = answer;
      this.onRequest?.(request);
      this.#stream(res, answer, request.tools);
      // The stand-in's own share of a turn (from the request to the end of its answer).
      request.answeredAt = Date.now();
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  #stream(res, answer, tools) {
    const id = `chatcmpl-${++this.#serial}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (choices, extra = {}) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: this.model, choices, ...extra })}\n\n`;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    let delta;
    let finish;
    if (answer.tool) {
      const direct = tools.includes(answer.tool) || !tools.includes("tool_call");
      const call = direct
        ? { name: answer.tool, arguments: JSON.stringify(answer.args ?? {}) }
        : { name: "tool_call", arguments: JSON.stringify({ id: answer.tool, args: answer.args ?? {} }) };
      delta = {
        role: "assistant",
        content: null,
        tool_calls: [{ index: 0, id: `call_${this.#serial}`, type: "function", function: call }],
      };
      finish = "tool_calls";
    } else {
      delta = { role: "assistant", content: String(answer.text ?? "") };
      finish = "stop";
    }
    res.write(chunk([{ index: 0, delta, finish_reason: null }]));
    res.write(chunk([{ index: 0, delta: {}, finish_reason: finish }]));
    res.write(chunk([], { usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }));
    res.end("data: [DONE]\n\n");
  }

  /** Wait until `predicate(this)` holds (checked on every request and every 250 ms). */
  async waitFor(predicate, timeoutMs = 60_000, what = "model requests") {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.requests.length} requests`);
      await new Promise((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 250);
      });
    }
  }

  async close() {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
