import { describe, it } from "vitest";
import { checkAgainstModel, modelTimeoutMs } from "../model/property.js";

// This file runs in the `workers-caps` project (RELAY_QUEUE_MAX_ITEMS=10, RELAY_QUEUE_MAX_BYTES=4096),
// so the capacity rules of PROTOCOL.md §5 are reached in a few sends: the 80 % bar for the low
// lane, sender shares (judged after the send's own evictions), shedding of lower lanes at a full
// queue, and 507 with nothing to shed.
describe("relay session at small caps against the reference model (PROTOCOL.md §5)", () => {
  it(
    "random sends, acks, nacks, clock steps, disconnects and reconnects agree with the model",
    async () => {
      await checkAgainstModel(["queued", "queue_full", "shed", "shed_own", "delivered", "acked", "expired", "resync"]);
    },
    modelTimeoutMs(),
  );
});
