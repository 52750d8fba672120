import { getEventListeners } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type FetchLike, postHook, systemFetch } from "../../src/daemon/hook-client.js";
import type { HookAnswer } from "../../src/daemon/hook-formats/types.js";

/**
 * The daemon's own fetch (`systemFetch`) makes hook calls over node:http (hook-http.ts). Each
 * case here runs over both transports and must come out the same: that is the contract the
 * switch away from fetch keeps.
 */
let server: Server | null = null;
let connections = 0;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

async function hook(handler: Handler): Promise<string> {
  connections = 0;
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => handler(request, Buffer.concat(chunks).toString("utf8"), response));
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const viaFetch: FetchLike = (input, init) => fetch(input, init);
const TRANSPORTS = [
  ["fetch", viaFetch],
  ["node:http", systemFetch],
] as const;

const reading = {
  readsBody: true,
  interpret: (answer: HookAnswer) => ({
    kind: "rejected" as const,
    status: answer.status,
    reason: `${answer.body === null ? "null" : answer.body.length}|${answer.headers.get("x-answer")}`,
  }),
};

function call(transport: FetchLike, url: string, options: { timeoutMs?: number; reads?: boolean; body?: string } = {}) {
  const request = {
    url,
    body: options.body ?? '{"text":"héllo"}',
    headers: { "content-type": "application/json", authorization: "Bearer t", "webhook-id": "01J" },
  };
  const shutdown = new AbortController().signal;
  return postHook(
    transport,
    request,
    options.timeoutMs ?? 2_000,
    () => 1_000_000,
    shutdown,
    options.reads ? reading : undefined,
  );
}

async function both(url: string, options: Parameters<typeof call>[2] = {}) {
  const results = [];
  for (const [, transport] of TRANSPORTS) results.push(await call(transport, url, options));
  expect(results[1]).toEqual(results[0]);
  return results[0];
}

describe("hook calls over node:http answer as over fetch", () => {
  it("sends the same method, headers and body", async () => {
    const seen: unknown[] = [];
    const url = await hook((request, body, response) => {
      const { "content-type": type, authorization, "webhook-id": id, "content-length": length } = request.headers;
      seen.push({ method: request.method, path: request.url, type, authorization, id, length, body });
      response.writeHead(204).end();
    });
    await expect(both(url)).resolves.toEqual({ kind: "delivered", status: 204 });
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]).toMatchObject({ method: "POST", path: "/hook", length: "17", body: '{"text":"héllo"}' });
  });

  it.each([200, 302, 400, 404, 408, 500])("status %i", async (status) => {
    const url = await hook((_request, _body, response) => response.writeHead(status, { location: "/elsewhere" }).end());
    await both(url);
  });

  it("a Retry-After on a 429", async () => {
    const url = await hook((_request, _body, response) => response.writeHead(429, { "retry-after": "7" }).end());
    await expect(both(url)).resolves.toMatchObject({ kind: "retry", retryAfterMs: 7_000 });
  });

  it("an answer body for a format that reads it, and none past the bound", async () => {
    let size = 10;
    const url = await hook((_request, _body, response) =>
      response.writeHead(200, { "x-answer": "a" }).end("x".repeat(size)),
    );
    await expect(both(url, { reads: true })).resolves.toMatchObject({ reason: "10|a" });
    size = 70_000;
    await expect(both(url, { reads: true })).resolves.toMatchObject({ reason: "null|a" });
  });

  it("no answer, or a body that never ends for a format that reads it: a timeout", async () => {
    const url = await hook((_request, _body, response) => response.writeHead(200).write("{"));
    await expect(both(url, { timeoutMs: 150, reads: true })).resolves.toMatchObject({ reason: "hook_timeout" });
    const silent = await hook(() => undefined);
    await expect(both(silent, { timeoutMs: 150 })).resolves.toMatchObject({ reason: "hook_timeout" });
  });

  it("a hook that is not listening", async () => {
    const url = await hook(() => undefined);
    await new Promise((resolve) => server?.close(resolve));
    await expect(both(url)).resolves.toMatchObject({ kind: "retry", reason: "hook_unreachable", status: null });
  });
});

describe("hook calls over node:http", () => {
  it("reuse one connection, leave no listener on the shutdown signal, and are aborted by it", async () => {
    let hang = false;
    const url = await hook((_request, _body, response) => {
      if (!hang) response.writeHead(204).end();
    });
    const shutdown = new AbortController();
    const request = { url, body: "{}", headers: { "content-type": "application/json" } };
    const post = () => postHook(systemFetch, request, 5_000, Date.now, shutdown.signal);
    for (let i = 0; i < 5; i++) await expect(post()).resolves.toEqual({ kind: "delivered", status: 204 });
    expect(connections).toBe(1);
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
    hang = true;
    const pending = post();
    await new Promise((resolve) => setTimeout(resolve, 50));
    shutdown.abort(new DOMException("shutting down", "AbortError"));
    await expect(pending).resolves.toMatchObject({ kind: "retry", reason: "hook_timeout" });
    expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
  });

  it("drop, at the deadline, the connection of an unread body that never ends", async () => {
    let closed = false;
    const url = await hook((request, _body, response) => {
      request.socket.on("close", () => {
        closed = true;
      });
      response.writeHead(200).write("{");
    });
    await expect(call(systemFetch, url, { timeoutMs: 150 })).resolves.toEqual({ kind: "delivered", status: 200 });
    await expect.poll(() => closed, { timeout: 2_000 }).toBe(true);
  });
});
