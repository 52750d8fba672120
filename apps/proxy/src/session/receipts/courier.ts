import type { Outcome, Receipt } from "@clawrelay/protocol";
import type { RelayConfig } from "../../config.js";
import { relaySessionStub } from "../../platform/stubs.js";
import { postRemoteReceipt } from "../../receipts/courier.js";
import type { ReceiptCourier } from "./outbox.js";

export interface CourierHost {
  readonly env: Env;
  readonly config: RelayConfig;
  agentId(): string;
  /** This session's own `acceptReceipt` (a receipt from one of its messages to itself). */
  acceptOwn(sender: string, receipt: Receipt): Promise<Outcome<{ stored: boolean }>>;
}

/** Where a receipt goes: another relay by signed POST, else the sender's relay session here by RPC. */
export function receiptCourier(host: CourierHost): ReceiptCourier {
  return async (destination, sender, receipt) => {
    if (destination !== "local") return postRemoteReceipt(host.config, destination, sender, receipt);
    const outcome =
      sender === host.agentId()
        ? await host.acceptOwn(sender, receipt)
        : await relaySessionStub(host.env, sender).acceptReceipt(sender, receipt);
    if (!outcome.ok) throw new Error(outcome.code);
  };
}
