// CPU profiles of the Worker under `wrangler dev` through its V8 inspector (the same Profiler
// domain DevTools uses). The profile is the isolate's JavaScript only: workerd's own C++ (SQLite,
// sockets) shows up as the JS frames that called it.
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/relay.mjs";

const WebSocket = createRequire(join(ROOT, "apps/connector/package.json"))("ws");

export class WorkerProfiler {
  #ws = null;
  #nextId = 1;
  #pending = new Map();

  static async attach(inspectorPort) {
    const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
    // wrangler lists the user Worker ("core:user:<name>"); the other targets are its own helpers.
    const target = targets.find((t) => /core:user:/.test(t.title ?? t.id ?? "")) ?? targets[0];
    if (!target) throw new Error("no inspector target");
    const profiler = new WorkerProfiler();
    profiler.target = target.title ?? target.id;
    profiler.#ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      profiler.#ws.once("open", resolve);
      profiler.#ws.once("error", reject);
    });
    profiler.#ws.on("close", () => {
      for (const waiter of profiler.#pending.values()) waiter.reject(new Error("the inspector closed its socket"));
      profiler.#pending.clear();
    });
    profiler.#ws.on("message", (data) => {
      const message = JSON.parse(data.toString("utf8"));
      // wrangler's inspector proxy echoes requests back (with `method`, no `result`): skip those.
      if (!("result" in message) && !("error" in message)) return;
      const waiter = message.id !== undefined ? profiler.#pending.get(message.id) : undefined;
      if (!waiter) return;
      profiler.#pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
    return profiler;
  }

  /** One inspector command; a profile that never comes back (workerd busy, proxy gone) fails, it never hangs the run. */
  call(method, params = {}, timeoutMs = 60_000) {
    const id = this.#nextId++;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer from the inspector within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Fire and forget: through wrangler's proxy these commands come back only as echoes, with no result. */
  notify(method, params = {}) {
    this.#ws.send(JSON.stringify({ id: this.#nextId++, method, params }));
  }

  async start() {
    this.notify("Profiler.enable");
    this.notify("Profiler.setSamplingInterval", { interval: 200 });
    this.notify("Profiler.start");
    // Let the commands land before the measured work begins.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  async stop() {
    try {
      const { profile } = await this.call("Profiler.stop");
      return profile;
    } finally {
      this.#ws.close();
    }
  }
}
