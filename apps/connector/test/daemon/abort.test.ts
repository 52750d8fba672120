import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { deadline, followAbort } from "../../src/daemon/abort.js";
import { postHook } from "../../src/daemon/hook-client.js";

let server: Server | null = null;
afterEach(async () => {
  const open = server;
  server = null;
  if (!open) return;
  open.closeAllConnections();
  await new Promise((resolve) => open.close(resolve));
});

describe("followAbort and deadline", () => {
  it("forwards the parent's abort with its reason, at once when it already happened", () => {
    const parent = new AbortController();
    const child = new AbortController();
    followAbort(parent.signal, child);
    parent.abort(new Error("shutting down"));
    expect(child.signal.aborted).toBe(true);
    expect((child.signal.reason as Error).message).toBe("shutting down");
    const late = new AbortController();
    followAbort(parent.signal, late);
    expect(late.signal.aborted).toBe(true);
  });

  it("leaves nothing on the long-lived parent once detached, and no longer follows it", () => {
    const parent = new AbortController();
    const child = new AbortController();
    const detach = followAbort(parent.signal, child);
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(1);
    detach();
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(0);
    parent.abort();
    expect(child.signal.aborted).toBe(false);
  });

  it("a deadline times out with a TimeoutError unless cleared first", async () => {
    const parent = new AbortController();
    const fast = deadline(20, parent.signal);
    await new Promise((resolve) => fast.signal.addEventListener("abort", resolve));
    expect((fast.signal.reason as DOMException).name).toBe("TimeoutError");
    fast.clear();
    const cleared = deadline(20, parent.signal);
    cleared.clear();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(cleared.signal.aborted).toBe(false);
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(0);
  });
});

describe("postHook and the daemon's shutdown signal", () => {
  it("leaves no listener behind on the shutdown signal after each call, and is still aborted by it", async () => {
    let hang = false;
    server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        if (!hang) response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const shutdown = new AbortController();
    const request = { url, body: "{}", headers: { "content-type": "application/json" } };
    const call = () => postHook((input, init) => fetch(input, init), request, 5_000, Date.now, shutdown.signal);
    for (let i = 0; i < 5; i++) await expect(call()).resolves.toEqual({ kind: "delivered", status: 204 });
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
    hang = true;
    const pending = call();
    await new Promise((resolve) => setTimeout(resolve, 50));
    shutdown.abort(new DOMException("shutting down", "AbortError"));
    await expect(pending).resolves.toMatchObject({ kind: "retry", reason: "hook_timeout" });
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
  });
});
