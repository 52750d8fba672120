import { base64urlDecode, base64urlEncode } from "@clawrelay/signing";

/**
 * The dashboard's login session: `v1.<expiry unix s>.<HMAC-SHA256>` keyed by the admin token, so
 * it needs no storage, dies with the token on rotation, and never carries the token itself.
 */
export const DASHBOARD_COOKIE = "clawrelay_dashboard";
export const DASHBOARD_SESSION_SECONDS = 8 * 3600;

const encoder = new TextEncoder();
const PURPOSE = "clawrelay-dashboard-session.v1";

async function hmacKey(adminToken: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(adminToken), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

export async function issueSessionValue(adminToken: string, nowMs: number): Promise<string> {
  const expiry = Math.floor(nowMs / 1000) + DASHBOARD_SESSION_SECONDS;
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(adminToken), encoder.encode(`${PURPOSE}.${expiry}`));
  return `v1.${expiry}.${base64urlEncode(new Uint8Array(mac))}`;
}

/** True for an unexpired value made with this admin token (HMAC verify compares in constant time). */
export async function verifySessionValue(value: string, adminToken: string, nowMs: number): Promise<boolean> {
  const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match?.[1] || !match[2]) return false;
  const expiry = Number(match[1]);
  if (expiry * 1000 <= nowMs) return false;
  let mac: Uint8Array<ArrayBuffer>;
  try {
    mac = base64urlDecode(match[2]);
  } catch {
    return false;
  }
  return crypto.subtle.verify("HMAC", await hmacKey(adminToken), mac, encoder.encode(`${PURPOSE}.${expiry}`));
}

/**
 * HttpOnly (no script reads it), Secure (browsers also accept it on http://127.0.0.1 and
 * localhost, which they treat as secure contexts), SameSite=Strict (no cross-site request
 * carries it, which is the CSRF defence of the dashboard's POSTs), scoped to /dashboard.
 */
export function sessionCookieHeader(value: string): string {
  return `${DASHBOARD_COOKIE}=${value}; Path=/dashboard; Max-Age=${DASHBOARD_SESSION_SECONDS}; HttpOnly; Secure; SameSite=Strict`;
}

export function clearedCookieHeader(): string {
  return `${DASHBOARD_COOKIE}=; Path=/dashboard; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
