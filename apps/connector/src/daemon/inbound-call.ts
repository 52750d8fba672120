import { type Breaker, isBrokenCircuit } from "./breaker.js";
import type { HookResult } from "./hook-client.js";

/** Carries a retryable hook answer through the breaker so it counts as a failure there. */
export class RetryableHookFailure extends Error {
  constructor(readonly result: Extract<HookResult, { kind: "retry" }>) {
    super(result.reason);
    this.name = "RetryableHookFailure";
  }
}

/** One hook call through the hook's breaker: its result, or null when the breaker let no call through. */
export async function callThroughBreaker(
  breaker: Breaker,
  call: () => Promise<HookResult>,
): Promise<HookResult | null> {
  try {
    return await breaker.execute(async () => {
      const answer = await call();
      if (answer.kind === "retry") throw new RetryableHookFailure(answer);
      return answer;
    });
  } catch (error) {
    if (isBrokenCircuit(error)) return null;
    if (!(error instanceof RetryableHookFailure)) throw error;
    return error.result;
  }
}
