import type { IncomingMessage } from "node:http";
import {
  type ConnectorFrame,
  type DeliverItem,
  deliverItemSchema,
  encodeFrame,
  errorBodySchema,
  PROTOCOL_LIMITS,
  parseFrame,
  type RelayFrame,
  relayFrameSchema,
} from "@clawrelay/protocol";
import type WebSocket from "ws";
import { z } from "zod";

/** The most ids one ack/nack frame may carry (the frame schema's bound). */
const MAX_IDS_PER_FRAME = PROTOCOL_LIMITS.maxIdsPerFrame;

export type IncomingFrame =
  | { kind: "pong" }
  | { kind: "frame"; frame: RelayFrame }
  /** A deliver frame with some malformed items: keep the good ones, nack the rest as `invalid`. */
  | { kind: "partial_deliver"; items: DeliverItem[]; invalidIds: string[] }
  | { kind: "invalid"; code: string; message: string };

const looseDeliverSchema = z.object({
  type: z.literal("deliver"),
  items: z.array(z.unknown()).min(1).max(PROTOCOL_LIMITS.maxItemsPerDeliverFrame),
});
const idOnlySchema = z.object({ id: z.string().min(1).max(128) });

export function rawBytes(data: WebSocket.RawData): ArrayBufferView {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

export function readIncoming(data: WebSocket.RawData, isBinary: boolean): IncomingFrame {
  const raw = rawBytes(data);
  if (!isBinary) {
    if (raw.byteLength === 4 && Buffer.from(raw.buffer, raw.byteOffset, 4).toString() === "pong") {
      return { kind: "pong" };
    }
  }
  const parsed = parseFrame(raw, relayFrameSchema, PROTOCOL_LIMITS.maxFrameBytes);
  if (parsed.ok) return { kind: "frame", frame: parsed.frame };
  if (parsed.code === "invalid_frame") {
    const loose = parseFrame(raw, looseDeliverSchema, PROTOCOL_LIMITS.maxFrameBytes);
    if (loose.ok) {
      const items: DeliverItem[] = [];
      const invalidIds: string[] = [];
      for (const candidate of loose.frame.items) {
        const item = deliverItemSchema.safeParse(candidate);
        if (item.success) items.push(item.data);
        else {
          const withId = idOnlySchema.safeParse(candidate);
          if (withId.success) invalidIds.push(withId.data.id);
        }
      }
      return { kind: "partial_deliver", items, invalidIds };
    }
  }
  return { kind: "invalid", code: parsed.code, message: parsed.message };
}

export function chunkIds(ids: readonly string[]): string[][] {
  const chunks: string[][] = [];
  for (let start = 0; start < ids.length; start += MAX_IDS_PER_FRAME) {
    chunks.push(ids.slice(start, start + MAX_IDS_PER_FRAME));
  }
  return chunks;
}

/**
 * Every frame the link writes goes through here, just before `socket.send`; `onAckSent` (a
 * stop-point harness, stop-points.ts) is told the ids of each ack frame.
 */
export function encode(frame: ConnectorFrame, onAckSent?: (ids: readonly string[]) => void): string {
  if (frame.type === "ack") onAckSent?.(frame.ids);
  return encodeFrame(frame);
}

/**
 * An upgrade refused with 401 and one of these codes means the credentials themselves are
 * dead, like close code 4003; retrying with them only hammers the relay.
 */
const CREDENTIAL_CODES: ReadonlySet<string> = new Set(["invalid_token", "token_expired", "revoked"]);

export interface UpgradeRejection {
  status: number;
  code: string | null;
  credentialsRejected: boolean;
}

export function classifyUpgradeRejection(status: number, bodyText: string): UpgradeRejection {
  let code: string | null = null;
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(bodyText));
    if (parsed.success) code = parsed.data.error.code;
  } catch {
    code = null;
  }
  return { status, code, credentialsRejected: status === 401 && code !== null && CREDENTIAL_CODES.has(code) };
}

export function connectUrl(relayUrl: string, agentId: string): { httpUrl: string; wsUrl: string } {
  const httpUrl = `${relayUrl.replace(/\/+$/, "")}/v1/agents/${encodeURIComponent(agentId)}/connect`;
  return { httpUrl, wsUrl: httpUrl.replace(/^http/, "ws") };
}

/** Read (at most 4 KiB of) a refused upgrade's body and classify it; `done` runs exactly once. */
export function readUpgradeRejection(response: IncomingMessage, done: (rejection: UpgradeRejection) => void): void {
  const status = response.statusCode ?? 0;
  let body = "";
  let finished = false;
  response.setEncoding("utf8");
  response.on("data", (chunk: string) => {
    if (body.length < 4096) body += chunk;
  });
  const finish = () => {
    if (finished) return;
    finished = true;
    done(classifyUpgradeRejection(status, body));
  };
  response.on("end", finish);
  response.on("error", finish);
  response.on("close", finish);
}
