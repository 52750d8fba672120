import { RelayError } from "@clawrelay/protocol";

/**
 * Read a request body within a byte cap. Without a usable `Content-Length` (absent, or not a
 * number) it counts the bytes actually streamed and stops at the first byte over the cap; a
 * declared length over the cap is refused before reading. Returns null when the request has no
 * body at all.
 */
export async function readBodyCapped(request: Request, maxBytes: number): Promise<Uint8Array | null> {
  if (!Number.isInteger(maxBytes) || maxBytes < 0)
    throw new Error("readBodyCapped: maxBytes must be a non-negative integer");
  const declared = request.headers.get("content-length");
  if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) > maxBytes) {
    // Cheap early refusal; an honest large Content-Length need not be streamed.
    throw new RelayError("payload_too_large", `body exceeds ${maxBytes} bytes`);
  }
  if (request.body === null) return null;
  if (declared !== null && /^[0-9]+$/.test(declared)) {
    // A declared length within the cap: the runtime's HTTP layer frames the body by it, so one
    // read takes it whole (issue 18: the stream loop below cost two reads and their promises a
    // request). Counted again anyway, so no body over the cap is ever returned.
    const whole = new Uint8Array(await request.arrayBuffer());
    if (whole.byteLength > maxBytes) throw new RelayError("payload_too_large", `body exceeds ${maxBytes} bytes`);
    return whole;
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new RelayError("payload_too_large", `body exceeds ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] ?? new Uint8Array(0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
