import { runInDurableObject } from "cloudflare:test";
import { type MockInstance, vi } from "vitest";

/**
 * Tests move time from the outside: `Date.now` is faked in the test isolate, which is also the
 * isolate the Worker and its Durable Objects run in, so the relay reads the moved clock exactly
 * as it reads the real one (and the test signs its requests on it). Tokens are issued on the real
 * clock, so none is issued in the future of a moved one (support/agents.ts); every test ends on
 * the real clock (support/teardown.ts).
 *
 * A moved clock is the real one plus a fixed offset (or a fixed instant), not vitest's ticking
 * fake timers: those advance in steps that lag the wall clock, and the runtime's own timestamps
 * (when a socket's last `ping` was auto-answered) come from the wall clock. Those timestamps are
 * moved by the same offset while the clock is moved, as a runtime on the moved clock would
 * report them; a stopped clock reads a ping answered `d` ms ago (wall time) as `d` ms before it.
 */
const wallClock = Date.now.bind(Date);
let moved: MockInstance<() => number> | null = null;
let pingTimesFollowDate = false;

async function movePingTimesWithDate(stub: DurableObjectStub): Promise<void> {
  if (pingTimesFollowDate) return;
  await runInDurableObject(stub, (_instance: unknown, state: DurableObjectState) => {
    const runtime: Pick<DurableObjectState, "getWebSocketAutoResponseTimestamp"> = Object.getPrototypeOf(state);
    const real = runtime.getWebSocketAutoResponseTimestamp;
    runtime.getWebSocketAutoResponseTimestamp = function (this: DurableObjectState, ws: WebSocket) {
      const at = real.call(this, ws);
      return at === null ? null : new Date(at.getTime() + Date.now() - wallClock());
    };
  });
  pingTimesFollowDate = true;
}

/**
 * Set the clock to `at` for the Durable Objects (`stub`'s among them). `ticking` (the default)
 * keeps it moving with the wall clock from there; otherwise it stands still until the next call.
 */
export async function setClock(stub: DurableObjectStub, at: number, ticking = true): Promise<void> {
  await movePingTimesWithDate(stub);
  const offset = at - wallClock();
  moved ??= vi.spyOn(Date, "now");
  moved.mockImplementation(ticking ? () => wallClock() + offset : () => at);
}

/** Move the clock forward by `ms` (ticking from there). */
export async function advanceClockBy(stub: DurableObjectStub, ms: number): Promise<void> {
  await setClock(stub, Date.now() + ms);
}

/** Back to the real clock. */
export function resetClock(): void {
  moved?.mockRestore();
  moved = null;
}

/** The wall clock, whatever the moved clock says. */
export function realNow(): number {
  return wallClock();
}
