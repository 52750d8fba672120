import { z } from "zod";

export const RECEIPT_STATUSES = [
  "delivered",
  "processed",
  "failed",
  "expired",
  "shed",
  "dead_lettered",
  "delayed",
] as const;
export const receiptStatusSchema = z.enum(RECEIPT_STATUSES);
export type ReceiptStatus = z.infer<typeof receiptStatusSchema>;

/** Exactly one of these ends a message (PROTOCOL.md §7). */
export const TERMINAL_RECEIPT_STATUSES = [
  "processed",
  "failed",
  "expired",
  "shed",
  "dead_lettered",
] as const satisfies readonly ReceiptStatus[];
/** Always sent to the sender, whatever `notify` asked. */
export const FAILURE_RECEIPT_STATUSES = [
  "failed",
  "expired",
  "shed",
  "dead_lettered",
] as const satisfies readonly ReceiptStatus[];
/** Sent only when the send asked for them in `notify`. */
export const NOTIFY_STATUSES = ["delivered", "processed", "delayed"] as const satisfies readonly ReceiptStatus[];

export function isFailureStatus(status: ReceiptStatus): boolean {
  return (FAILURE_RECEIPT_STATUSES as readonly string[]).includes(status);
}

export const receiptSchema = z.object({
  receiptId: z.string().min(1),
  messageId: z.string().min(1),
  correlationId: z.string().min(1),
  status: receiptStatusSchema,
  reason: z.string().optional(),
  recipient: z.string().min(1),
  at: z.number().int().nonnegative(),
  attempts: z.number().int().nonnegative(),
  enqueuedAt: z.number().int().nonnegative(),
  conversationId: z.string().optional(),
});
export type Receipt = z.infer<typeof receiptSchema>;
