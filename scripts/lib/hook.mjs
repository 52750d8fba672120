// A stand-in agent webhook (the edge of the world): records every call, and can fail (500) or
// hang on demand. Used by the demo, the end-to-end tests, the chaos harness and the benchmarks.
import { createServer } from "node:http";

export class StandInHook {
  calls = [];
  /** "ok" | "fail" | "hang" | "hold" (answered only by `release()`, e.g. to let an inbox fill up first) */
  mode = "ok";
  url = "";
  onCall = null;
  #server = null;
  #waiters = [];
  #held = [];

  /** keepCalls: false keeps no call in `calls` (long benchmarks); `onCall` still sees every call. */
  constructor({ keepCalls = true } = {}) {
    this.keepCalls = keepCalls;
  }

  async start() {
    this.#server = createServer((req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => {
        if (this.mode === "hang") return; // the connector's hook timeout must fire
        if (this.mode === "fail") {
          res.writeHead(500).end();
          return;
        }
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          res.writeHead(400).end();
          return;
        }
        const call = { at: Date.now(), body, headers: req.headers };
        if (this.mode === "hold") {
          this.#held.push({ res, call });
          return;
        }
        this.#answer(res, call);
      });
    });
    this.#server.keepAliveTimeout = 5_000;
    await new Promise((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${this.#server.address().port}/hook`;
    return this;
  }

  #answer(res, call) {
    if (this.keepCalls) this.calls.push(call);
    res.writeHead(204).end();
    this.onCall?.(call);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Back to "ok": every call held so far is answered 204 now (and recorded, at this moment). */
  release() {
    this.mode = "ok";
    for (const { res, call } of this.#held.splice(0)) this.#answer(res, { ...call, at: Date.now() });
  }

  messages() {
    return this.calls.filter((c) => c.body.type === "clawrelay.message.v1");
  }

  receipts() {
    return this.calls.filter((c) => c.body.type === "clawrelay.receipt.v1");
  }

  /** Wait until `predicate(this)` holds (checked on every call and every 250 ms). */
  async waitFor(predicate, timeoutMs = 30_000, what = "hook calls") {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.calls.length} calls`);
      await new Promise((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 250);
      });
    }
  }

  async close() {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(() => resolve()));
  }
}
