import type { Receipt } from "@clawrelay/protocol";
import { signReceiptToken } from "@clawrelay/signing";
import type { RelayConfig } from "../config.js";
import { relaySigningKey } from "./relay-keys.js";

const POST_TIMEOUT_MS = 10_000;

/**
 * POST one receipt to the sender's home relay as a `receipt+jwt` signed with this relay's key.
 * 2xx means stored; 409 means that relay already has it (an earlier try whose answer was lost).
 * Anything else throws, and the outbox retries it later.
 */
export async function postRemoteReceipt(
  config: RelayConfig,
  destination: string,
  sender: string,
  receipt: Receipt,
  fetcher: typeof fetch = fetch,
): Promise<void> {
  const token = await signReceiptToken({
    privateJwk: relaySigningKey(config),
    iss: config.RELAY_ORIGIN,
    aud: destination,
    sub: sender,
    receipt,
  });
  const res = await fetcher(`${destination}/v1/receipts`, {
    method: "POST",
    headers: { "content-type": "application/jwt", "x-claw-correlation-id": receipt.correlationId },
    body: token,
    signal: AbortSignal.timeout(POST_TIMEOUT_MS),
  });
  // Drain the body so the connection can be reused.
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok || res.status === 409) return;
  throw new Error(`receipt POST to ${destination} answered ${res.status}`);
}
