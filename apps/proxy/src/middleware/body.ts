import { RelayError } from "@clawrelay/protocol";

/**
 * Read a request body counting the bytes actually streamed, whatever `Content-Length` claims
 * (it may be absent, wrong or not a number). Stops reading at the first byte over the cap.
 * Returns null when the request has no body at all.
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
