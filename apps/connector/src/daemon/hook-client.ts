import { followAbort } from "./abort.js";
import { readAnswerText } from "./answer-body.js";
import { interpretClawrelayAnswer } from "./hook-formats/clawrelay.js";
import type { HookAnswer, HookRequest, HookResult } from "./hook-formats/types.js";
import { carriesOverHttp, postOverHttp } from "./hook-http.js";

export { buildHookRequest, clawrelayFormat, type HookTarget } from "./hook-formats/clawrelay.js";
export type { HookFormat, HookRequest, HookResult } from "./hook-formats/types.js";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * The connector's own fetch (the daemon's default when none is injected). Handed this, `postHook`
 * makes the call over node:http (hook-http.ts), which costs far less CPU than fetch; an injected
 * fetch (a test double) is used as given.
 */
export const systemFetch: FetchLike = (input, init) => fetch(input, init);

/** How a call's answer is judged; the clawrelay format's by default. */
export interface AnswerJudge {
  readsBody: boolean;
  interpret(answer: HookAnswer, now: number): HookResult;
}

const CLAWRELAY_JUDGE: AnswerJudge = { readsBody: false, interpret: interpretClawrelayAnswer };
/** An answer body past this is no answer any hook documents; it is not read further. */
const MAX_ANSWER_BYTES = 65_536;

/** A timer this late was not the hook being slow but this process not running (SIGSTOP, a VM pause, a long GC). */
const PAUSE_LATENESS_MS = 100;
/** After such a pause, how long the answer that may already be in the socket gets to be read. */
const PAUSE_GRACE_MS = 250;

/**
 * Like `AbortSignal.timeout(timeoutMs)`, except when the timer fires late: then this process was
 * paused, and after a pause Node runs expired timers before it reads sockets, so a hook that
 * answered in time would be taken for one that timed out and get the item a second time.
 * A late timer therefore first gives pending I/O a short grace. `parent` (the daemon's shutdown)
 * aborts it too.
 */
export function hookTimeout(timeoutMs: number, parent?: AbortSignal): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const detach = parent ? followAbort(parent, controller) : () => undefined;
  const startedAt = performance.now();
  const abort = () => controller.abort(new DOMException("the hook did not answer in time", "TimeoutError"));
  let timer = setTimeout(() => {
    if (performance.now() - startedAt - timeoutMs > PAUSE_LATENESS_MS) {
      timer = setTimeout(abort, PAUSE_GRACE_MS);
      timer.unref();
    } else {
      abort();
    }
  }, timeoutMs);
  // Like AbortSignal.timeout: a pending hook deadline alone never keeps the process alive.
  timer.unref();
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      detach();
    },
  };
}

function failedCall(error: unknown): HookResult {
  const name = (error as Error).name;
  const reason = name === "TimeoutError" || name === "AbortError" ? "hook_timeout" : "hook_unreachable";
  return { kind: "retry", reason, status: null, retryAfterMs: undefined };
}

/**
 * One hook call. The timeout covers the answer's body too when the format reads it (an OpenClaw
 * gateway waiting for the turn to complete sends its headers only at the end, but a slow body
 * must not hang the worker either).
 */
export async function postHook(
  fetchFn: FetchLike,
  request: HookRequest,
  timeoutMs: number,
  now: () => number,
  shutdown: AbortSignal,
  judge: AnswerJudge = CLAWRELAY_JUDGE,
): Promise<HookResult> {
  if (fetchFn === systemFetch && carriesOverHttp(request.url))
    return postOverNodeHttp(request, timeoutMs, now, shutdown, judge);
  const timeout = hookTimeout(timeoutMs, shutdown);
  try {
    const response = await fetchFn(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: timeout.signal,
    });
    let body: string | null = null;
    if (judge.readsBody) {
      body = await readAnswerText(response, MAX_ANSWER_BYTES);
    } else {
      // The answer's body is not used; discard it so the connection can be reused.
      await response.body?.cancel().catch(() => undefined);
    }
    return judge.interpret({ status: response.status, headers: response.headers, body }, now());
  } catch (error) {
    return failedCall(error);
  } finally {
    timeout.clear();
  }
}

/** `postHook` over node:http: the same deadline, answer and failures; see postOverHttp for the body. */
async function postOverNodeHttp(
  request: HookRequest,
  timeoutMs: number,
  now: () => number,
  shutdown: AbortSignal,
  judge: AnswerJudge,
): Promise<HookResult> {
  const timeout = hookTimeout(timeoutMs, shutdown);
  try {
    const answer = await postOverHttp(request, timeout.signal, judge.readsBody, MAX_ANSWER_BYTES, timeout.clear);
    return judge.interpret(answer, now());
  } catch (error) {
    timeout.clear();
    return failedCall(error);
  }
}
