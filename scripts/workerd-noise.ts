import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * workerd reports every network peer that goes away as an exception of kind DISCONNECTED
 * ("WebSocket peer disconnected", "connect(): Connection refused", and the "Network connection
 * lost." that follows it), and @cloudflare/vitest-pool-workers writes each such message to this
 * process's stdout outside any test (its own ignore list misses these, and it exposes no option to
 * change it). The workers tests drop sockets and dial a refusing stand-in relay on purpose, so
 * these are hundreds of lines that say nothing. Each arrives as one write, its first line one of:
 *
 *   exception = workerd/api/web-socket.c++:821: disconnected: WebSocket peer disconnected
 *   uncaught exception; exception = workerd/jsg/…/value.h:1480: disconnected: jsg.Error: Network connection lost.
 *   uncaught exception; source = Uncaught (in promise); stack = Error: Network connection lost.
 *
 * (followed, for some, by a `stack:` line of unsymbolized addresses). Anything else passes.
 */
const DISCONNECT_MESSAGE =
  /^(?:uncaught exception; )?(?:exception = \S+:\d+: disconnected: [^\n]*|source = Uncaught \(in promise\); stack = Error: Network connection lost\.)(?:\n|$)/;

export function isWorkerdDisconnectMessage(chunk: string): boolean {
  return DISCONNECT_MESSAGE.test(chunk);
}

/**
 * Keep workerd's disconnect messages off stdout and stderr from now on. They go to `logFile`
 * instead (truncated now, appended as they come, so nothing is lost); `count()` says how many.
 */
export function holdWorkerdDisconnects(logFile: string): { count(): number } {
  let held = 0;
  mkdirSync(dirname(logFile), { recursive: true });
  writeFileSync(logFile, "");
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text =
        typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : "";
      if (!isWorkerdDisconnectMessage(text)) return write(chunk, ...rest);
      held++;
      appendFileSync(logFile, text.endsWith("\n") ? text : `${text}\n`);
      // A caller may wait for the callback: write(chunk, cb) or write(chunk, encoding, cb).
      const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  return { count: () => held };
}
