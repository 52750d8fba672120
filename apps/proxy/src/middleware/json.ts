import { RelayError } from "@clawrelay/protocol";
import { readBodyCapped } from "./body.js";

const JSON_MEDIA_TYPE = /^application\/json(\s*;|$)/i;

/** Parse already-read body bytes as JSON: 415 for another media type, 400 invalid_json for bad bytes. */
export function parseJsonBytes(contentType: string | undefined | null, body: Uint8Array | null): unknown {
  if (!JSON_MEDIA_TYPE.test(contentType ?? "")) {
    throw new RelayError("unsupported_media_type", "Content-Type must be application/json");
  }
  if (!body || body.byteLength === 0) throw new RelayError("invalid_json", "a JSON body is required");
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new RelayError("invalid_json", "body is not valid JSON");
  }
}

/** Read (under the cap) and parse a JSON request body, for routes not behind the signed-request check. */
export async function readJsonRequest(request: Request, maxBytes: number): Promise<unknown> {
  if (!JSON_MEDIA_TYPE.test(request.headers.get("content-type") ?? "")) {
    throw new RelayError("unsupported_media_type", "Content-Type must be application/json");
  }
  return parseJsonBytes(request.headers.get("content-type"), await readBodyCapped(request, maxBytes));
}

export function zodMessage(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return "invalid body";
  return issue.path.length ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message;
}
