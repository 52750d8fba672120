import { RelayError, receiptSchema } from "@clawrelay/protocol";
import { peekClaims, TokenError, verifyReceiptToken } from "@clawrelay/signing";
import { Hono } from "hono";
import { readBodyCapped } from "../middleware/body.js";
import { publishedJwks } from "../receipts/relay-keys.js";
import { trustedRelayKeys } from "../receipts/trusted-relays.js";
import type { AppEnv } from "../types.js";
import { sessionFor, unwrap } from "./session.js";

/** A receipt JWT is small; anything bigger is not one. */
const MAX_RECEIPT_BYTES = 16_384;

export function receiptRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get("/.well-known/clawrelay/jwks.json", (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.json(publishedJwks(c.get("config")));
  });

  /**
   * Receipts from a trusted relay for senders homed here (PROTOCOL.md §7). Each refusal has its
   * own code and stores nothing: untrusted relay → invalid_token, bad signature →
   * invalid_signature, sender not homed here → unknown_recipient, replay → idempotency_key_reused.
   */
  routes.post("/v1/receipts", async (c) => {
    const config = c.get("config");
    if (!/^application\/jwt(\s*;|$)/i.test(c.req.header("content-type") ?? "")) {
      throw new RelayError("unsupported_media_type", "Content-Type must be application/jwt");
    }
    const body = await readBodyCapped(c.req.raw, MAX_RECEIPT_BYTES);
    const token = new TextDecoder().decode(body ?? new Uint8Array(0)).trim();
    if (!token) throw new RelayError("missing_credentials", "a receipt JWT is required");
    let issuer: unknown;
    try {
      issuer = peekClaims(token).iss;
    } catch {
      throw new RelayError("invalid_token", "not a receipt JWT");
    }
    if (typeof issuer !== "string") throw new RelayError("invalid_token", "receipt JWT has no issuer");
    const keys = trustedRelayKeys(config, issuer);
    let verified: Awaited<ReturnType<typeof verifyReceiptToken>>;
    try {
      verified = await verifyReceiptToken(token, { jwks: keys, issuer, audience: config.RELAY_ORIGIN });
    } catch (err) {
      if (err instanceof TokenError) throw new RelayError(err.code, "receipt JWT rejected");
      throw new RelayError("unavailable", "could not read the sending relay's keys", { retryAfterSeconds: 30 });
    }
    const receipt = receiptSchema.safeParse(verified.receipt);
    if (!receipt.success || !verified.sub) throw new RelayError("invalid_request", "receipt claims are malformed");
    const stored = unwrap(
      await sessionFor(c.env, verified.sub).acceptRemoteReceipt(verified.sub, receipt.data, config.RELAY_ORIGIN),
    );
    return c.json(stored, 202);
  });

  return routes;
}
