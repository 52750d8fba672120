/**
 * An HTTP answer's body as text, read up to `maxBytes` (counted on the bytes streamed, whatever
 * Content-Length says); null when it is larger, and the rest is discarded. Hook and relay answers
 * are small JSON; a peer that streams more is not worth the memory.
 */
export async function readAnswerText(response: Response, maxBytes: number): Promise<string | null> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
