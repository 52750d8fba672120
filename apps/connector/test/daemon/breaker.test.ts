import { describe, expect, it } from "vitest";
import { Breaker, type BreakerState, isBrokenCircuit } from "../../src/daemon/breaker.js";

class Failure extends Error {}

describe("breaker on an injected clock", () => {
  it("opens after N failures in a row, lets one probe through after the window, closes on its success", async () => {
    let now = 1_000;
    const changes: BreakerState[] = [];
    const breaker = new Breaker(
      "test",
      { failures: 2, openMs: 500, isFailure: (error) => error instanceof Failure, now: () => now },
      (state) => changes.push(state),
    );
    const fail = () => breaker.execute(() => Promise.reject(new Failure("down")));
    const ok = () => breaker.execute(() => Promise.resolve("ok"));

    await expect(fail()).rejects.toBeInstanceOf(Failure);
    await expect(ok()).resolves.toBe("ok");
    await expect(fail()).rejects.toBeInstanceOf(Failure);
    expect(breaker.state()).toBe("closed");
    await expect(fail()).rejects.toBeInstanceOf(Failure);
    expect(breaker.state()).toBe("open");
    expect(breaker.remainingOpenMs()).toBe(500);
    expect(isBrokenCircuit(await ok().catch((error: unknown) => error))).toBe(true);

    now += 500;
    expect(breaker.probeDue()).toBe(true);
    let release: () => void = () => undefined;
    const probe = breaker.execute(() => new Promise<string>((resolve) => (release = () => resolve("probed"))));
    // While the probe is out, nothing else goes.
    expect(breaker.isShut()).toBe(true);
    expect(isBrokenCircuit(await ok().catch((error: unknown) => error))).toBe(true);
    release();
    await expect(probe).resolves.toBe("probed");
    expect(breaker.state()).toBe("closed");
    expect(changes).toEqual(["open", "half_open", "closed"]);
  });

  it("a failed probe opens it for another window; errors it does not claim count as answers", async () => {
    let now = 0;
    const breaker = new Breaker("test", {
      failures: 1,
      openMs: 100,
      isFailure: (error) => error instanceof Failure,
      now: () => now,
    });
    await expect(breaker.execute(() => Promise.reject(new Failure("down")))).rejects.toBeInstanceOf(Failure);
    now = 100;
    await expect(breaker.execute(() => Promise.reject(new Failure("still down")))).rejects.toBeInstanceOf(Failure);
    expect(breaker.state()).toBe("open");
    expect(breaker.probeAt()).toBe(200);
    now = 200;
    await expect(breaker.execute(() => Promise.reject(new Error("refused")))).rejects.toThrow("refused");
    expect(breaker.state()).toBe("closed");
  });
});
