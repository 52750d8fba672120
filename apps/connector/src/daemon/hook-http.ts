import http from "node:http";
import https from "node:https";
import type { HookAnswer, HookRequest } from "./hook-formats/types.js";

/**
 * Hook calls over node:http(s) instead of `fetch`: undici's fetch costs about 300 µs of CPU more
 * a call than node:http with a keep-alive agent (measured on the connector's bench, issue 18), and
 * the hook is called once per message.
 *
 * The agents keep connections to the hook open between calls, as undici's pool did. Sockets are
 * bounded by the most calls the worker can have in flight (`hookConcurrency` is at most 64); an
 * idle one is closed before the hook's own keep-alive timeout when it announces one
 * (`Keep-Alive: timeout=`), else after 4 s, undici's default, so a call rarely meets a socket the
 * hook has just closed. Idle sockets never keep the process alive.
 */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64, timeout: 4_000 };
const AGENTS = { "http:": new http.Agent(AGENT_OPTIONS), "https:": new https.Agent(AGENT_OPTIONS) };

/**
 * Whether `url` is one this transport carries with fetch's meaning: http or https, without
 * credentials (fetch refuses those; node:http would send them as Basic auth). Others go to fetch.
 */
export function carriesOverHttp(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  return (parsed.protocol === "http:" || parsed.protocol === "https:") && !parsed.username && !parsed.password;
}

function answerHeaders(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return headers;
}

/**
 * POST `request`, resolving with the answer as fetch would give it with `redirect: "manual"`
 * (a 3xx is an answer, never followed). With `readsBody` the body is read up to `maxBytes`
 * (counted on the bytes received, whatever Content-Length says; null past it, and the connection
 * is dropped); otherwise it is drained unread so the connection can carry the next call.
 *
 * `signal` aborts the call at any point, the draining of an unread body included (it rejects with
 * an AbortError before the answer). `settled` is called once the exchange is over, answered,
 * failed or aborted: the caller's deadline must stay armed until then, or a hook that sends its
 * headers and never ends its body would hold a socket for good.
 */
export function postOverHttp(
  request: HookRequest,
  signal: AbortSignal,
  readsBody: boolean,
  maxBytes: number,
  settled: () => void,
): Promise<HookAnswer> {
  return new Promise((resolve, fail) => {
    // Aborted, whatever node:http reports (an AbortError, or the answer cut off), it fails as fetch
    // does: with the signal's reason (a TimeoutError at the deadline).
    const reject = (error: unknown) => fail(signal.aborted ? signal.reason : error);
    const url = new URL(request.url);
    const agent = AGENTS[url.protocol as keyof typeof AGENTS];
    const send = url.protocol === "https:" ? https.request : http.request;
    const headers = { ...request.headers, "content-length": String(Buffer.byteLength(request.body)) };
    const req = send(url, { method: "POST", headers, agent, signal }, (res) => {
      const status = res.statusCode ?? 0;
      let answerHeadersOf: Headers;
      try {
        answerHeadersOf = answerHeaders(res.rawHeaders);
      } catch (error) {
        req.destroy();
        reject(error);
        return;
      }
      if (!readsBody) {
        res.resume();
        resolve({ status, headers: answerHeadersOf, body: null });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > maxBytes) {
          // Past any answer a hook documents: not worth the memory, nor the rest of the stream.
          resolve({ status, headers: answerHeadersOf, body: null });
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => resolve({ status, headers: answerHeadersOf, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("the hook's answer was cut off")));
    });
    req.once("close", settled);
    req.on("error", reject);
    req.end(request.body);
  });
}
