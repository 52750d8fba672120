import { DurableObject } from "cloudflare:workers";

/**
 * Works around a vitest-pool-workers 0.15.1 bug (workers-sdk#15092, fixed upstream by #15106):
 * its Durable Object wrapper class wraps its own prototype in one more Proxy every time an
 * instance is constructed, so after n objects each property read on a new object walks n nested
 * traps. A file that creates an object per run (the model test: a fresh recipient session each
 * run) gets slower with every run, then overflows the stack. Putting the first prototype back
 * before each construction keeps the chain one Proxy deep; the trap itself is unchanged.
 *
 * The wrapper class is out of reach of test code, so one RPC call with an unused name, looked
 * up through the wrapper's Proxy chain down to DurableObject.prototype, hands it over. Should a
 * fixed pool no longer route that lookup through here, nothing is captured and `flatten` does
 * nothing: the tests stay correct, only slower.
 */
const PROBE = "vitestPoolWrapperProbe";
let captured: { wrapper: { prototype: object }; prototype: object } | null = null;

Object.defineProperty(DurableObject.prototype, PROBE, {
  configurable: true,
  get(this: object) {
    const wrapper: unknown = this.constructor;
    if (captured === null && typeof wrapper === "function")
      captured = { wrapper: wrapper as { prototype: object }, prototype: Object.getPrototypeOf(this) as object };
    return () => captured !== null;
  },
});

/** Capture the wrapper class through a stub of any object of the class (once per isolate). */
export async function captureWrapper(stub: object): Promise<boolean> {
  if (captured) return true;
  const probe = (stub as Record<string, unknown>)[PROBE];
  if (typeof probe !== "function") return false;
  try {
    await (probe as () => Promise<unknown>)();
  } catch {
    // A pool that does not route the lookup here: leave the wrappers as they are.
  }
  return captured !== null;
}

/** Undo the nesting added by the objects constructed since the capture. Call before creating one. */
export function flattenWrapper(): void {
  if (captured) captured.wrapper.prototype = captured.prototype;
}
