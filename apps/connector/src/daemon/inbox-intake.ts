import type { DeliverItem } from "@clawrelay/protocol";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import type { InboundWorker } from "./inbound.js";
import type { DeliverOutcome } from "./link-types.js";
import type { StopPoints } from "./stop-points.js";
import type { Store } from "./store.js";

export interface InboxIntakeHost {
  store: Store;
  clock: Clock;
  logger: Logger;
  stopPoints: StopPoints;
  inbound: Pick<InboundWorker, "wake" | "hookCallsInFlight">;
}

/**
 * What the relay link does with delivered items (its `onDeliver`): commit them to the inbox, between
 * the harness's `before_commit` and `after_commit` stop points, log what became of each, and wake
 * the hook worker for what was stored. Throwing means nothing was stored and nothing is acked.
 */
export function inboxIntake(host: InboxIntakeHost): (items: DeliverItem[]) => DeliverOutcome {
  const { store, clock, logger, stopPoints, inbound } = host;
  return (items) => {
    stopPoints.reached("before_commit", items, () => inbound.hookCallsInFlight());
    const result = store.storeInbound(items, clock.now());
    stopPoints.reached("after_commit", items, () => inbound.hookCallsInFlight());
    for (const item of result.stored) {
      if (item.kind === "message") {
        logger.info(
          { event: "inbound_stored", correlationId: item.correlationId, messageId: item.id, from: item.from },
          "message stored in the inbox",
        );
      } else {
        const { receipt } = item;
        logger.info(
          {
            event: "receipt_received",
            correlationId: receipt.correlationId,
            messageId: receipt.messageId,
            status: receipt.status,
          },
          "receipt stored in the inbox",
        );
      }
    }
    if (result.duplicates.length > 0) {
      logger.info({ event: "inbound_duplicate", ids: result.duplicates }, "already stored; acked again");
    }
    if (result.nackInboxFull.length > 0) {
      logger.warn({ event: "inbox_full", count: result.nackInboxFull.length }, "inbox full; nacking");
    }
    if (result.stored.length > 0) queueMicrotask(() => inbound.wake());
    return result;
  };
}
