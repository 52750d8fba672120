import { describe, it } from "vitest";
import { checkAgainstModel, modelTimeoutMs } from "./property.js";

// Default relay vars: the queue caps are out of reach here, so 507 comes from small per-peer
// sender shares; the capacity rules proper run in test/caps/queue-model.test.ts.
describe("relay session against the reference model (PROTOCOL.md §5–6)", () => {
  it(
    "random sends, acks, nacks, clock steps, disconnects and reconnects agree with the model",
    async () => {
      await checkAgainstModel([
        "queued",
        "duplicate",
        "idempotency_key_reused",
        "rate_limited",
        "sender_blocked",
        "queue_full",
        "delivered",
        "acked",
        "nacked",
        "ack_timeout",
        "redelivered",
        "expired",
        "expired_in_flight",
        "breaker_open",
        "breaker_probe",
        "dead_lettered",
        "resync",
        "lost_ack_recovered",
        "replaced",
        "handed_over",
        "record_swept",
        "conversation",
        "failed_over",
        "closed_stale",
        "promoted",
      ]);
    },
    modelTimeoutMs(),
  );
});
