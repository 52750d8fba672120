/**
 * The wall clock. The relay session reads it here and nowhere else, at the start of each unit of
 * work, and hands `now` down; the signed-request check reads it per request. Read at call time,
 * never captured, so tests move time from the outside (a faked `Date.now` in the test isolate,
 * which is the isolate the Worker and its Durable Objects run in).
 */
export function wallClock(): number {
  return Date.now();
}
