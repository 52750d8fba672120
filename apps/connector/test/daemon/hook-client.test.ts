import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { postHook } from "../../src/daemon/hook-client.js";

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = null;
});

/** A hook on a real socket; `onRequest` runs once the request body is in. */
async function hook(onRequest: (answer: (status: number, body?: string) => void) => void): Promise<string> {
  server = createServer((request, response) => {
    request.resume();
    request.on("end", () => onRequest((status, body) => response.writeHead(status).end(body)));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const request = (url: string) => ({ url, body: "{}", headers: { "content-type": "application/json" } });
const post = (url: string, timeoutMs: number) =>
  postHook((input, init) => fetch(input, init), request(url), timeoutMs, Date.now, new AbortController().signal);

function freeze(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Nothing runs: the process is, as far as its timers and sockets know, stopped.
  }
}

describe("postHook timeout", () => {
  it("a hook that answered in time is not taken for a timeout when this process was paused meanwhile", async () => {
    // The answer reaches our socket at once, then this process freezes past the deadline (as
    // under SIGSTOP). After a pause Node runs due timers before reading sockets; without the grace
    // the hook would be retried although it had the item, and the agent would see it twice.
    const url = await hook((answer) => {
      answer(204);
      freeze(600);
    });
    await expect(post(url, 200)).resolves.toEqual({ kind: "delivered", status: 204 });
  });

  it("a hook that does not answer still times out", async () => {
    const url = await hook(() => undefined);
    const startedAt = performance.now();
    const result = await post(url, 200);
    expect(result).toMatchObject({ kind: "retry", reason: "hook_timeout" });
    expect(performance.now() - startedAt).toBeLessThan(1_000);
  });
});

describe("postHook with a format that reads the answer", () => {
  const reading = (seen: (string | null)[]) => ({
    readsBody: true,
    interpret: (answer: { status: number; body: string | null }) => {
      seen.push(answer.body);
      return { kind: "delivered" as const, status: answer.status };
    },
  });

  it("hands the body to the format, and none past the answer bound", async () => {
    const seen: (string | null)[] = [];
    let next = '{"ok":true}';
    const url = await hook((answer) => answer(200, next));
    const call = () =>
      postHook(
        (input, init) => fetch(input, init),
        request(url),
        2_000,
        Date.now,
        new AbortController().signal,
        reading(seen),
      );
    await call();
    next = "x".repeat(70_000);
    await call();
    expect(seen).toEqual(['{"ok":true}', null]);
  });
});
