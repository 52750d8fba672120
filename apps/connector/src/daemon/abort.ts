/**
 * Abort `controller` when `parent` aborts (at once if it already has); the returned function
 * detaches it again. This is `AbortSignal.any([own, parent])` without its cost: on Node 20 every
 * `any()` leaves an entry behind on a long-lived parent (the daemon's shutdown signal), so a
 * per-request `any()` leaks one entry per hook call and relay POST for the daemon's lifetime.
 */
export function followAbort(parent: AbortSignal, controller: AbortController): () => void {
  if (parent.aborted) {
    controller.abort(parent.reason);
    return () => undefined;
  }
  const forward = () => controller.abort(parent.reason);
  parent.addEventListener("abort", forward, { once: true });
  return () => parent.removeEventListener("abort", forward);
}

/**
 * A signal that aborts after `timeoutMs` (a TimeoutError, like `AbortSignal.timeout`) or when
 * `parent` aborts, whichever comes first; `clear()` when the request is over.
 */
export function deadline(timeoutMs: number, parent: AbortSignal): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("the request did not finish in time", "TimeoutError")),
    timeoutMs,
  );
  // Like AbortSignal.timeout: a pending deadline alone never keeps the process alive.
  timer.unref();
  const detach = followAbort(parent, controller);
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      detach();
    },
  };
}
