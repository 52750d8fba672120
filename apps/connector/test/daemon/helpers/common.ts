import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageItem, Priority, Receipt, ReceiptItem } from "@clawrelay/protocol";
import type { Logger } from "pino";
import { createLogger } from "../../../src/daemon/logger.js";

export function tempDir(prefix = "clawrelay-connector-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface LogLine {
  event?: string;
  level: number;
  [key: string]: unknown;
}

/** A real pino logger writing into an array, for asserting on `event`s. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; events: () => (string | undefined)[] } {
  const lines: LogLine[] = [];
  const logger = createLogger("debug", { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines, events: () => lines.map((line) => line.event) };
}

let counter = 0;

export function messageItem(overrides: Partial<MessageItem> = {}): MessageItem {
  counter++;
  const id = overrides.id ?? `01JMSG${String(counter).padStart(20, "0")}`;
  return {
    kind: "message",
    id,
    seq: counter,
    correlationId: `corr-${id}`,
    from: "alice-agent",
    priority: "normal" as Priority,
    payload: { text: `hello ${counter}` },
    contentType: "application/json",
    enqueuedAt: 1_700_000_000_000,
    // Far ahead of any clock a test runs on: an item expires in the inbox only when a test says so.
    expiresAt: 4_102_444_800_000,
    attempt: 1,
    ...overrides,
  };
}

export function receiptItem(overrides: Partial<Receipt> = {}, id?: string): ReceiptItem {
  counter++;
  return {
    kind: "receipt",
    id: id ?? `01JRCP${String(counter).padStart(20, "0")}`,
    receipt: {
      receiptId: `rcpt-${counter}`,
      messageId: `msg-${counter}`,
      correlationId: `corr-receipt-${counter}`,
      status: "delivered",
      recipient: "bob-agent",
      at: 1_700_000_000_000,
      attempts: 1,
      enqueuedAt: 1_700_000_000_000,
      ...overrides,
    },
  };
}

/** Wait for a condition on real state (a row committed, a counter reached), checking every few ms. */
export async function waitUntil(condition: () => boolean, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Like waitUntil, for conditions read through an async call (e.g. the local API). */
export async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 5_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
