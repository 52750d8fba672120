import { importPrivateKey, parsePrivateJwk, signRequest } from "@clawrelay/signing";

/** What the link and the outbound worker need signed; the signer adds fresh timestamp and nonce each call. */
export interface SignableRequest {
  method: string;
  url: string;
  body?: string;
  correlationId?: string;
  idempotencyKey?: string;
}

/** Returns the headers of PROTOCOL.md §3 for one request. Never logged: they carry the identity token. */
export type Signer = (request: SignableRequest) => Promise<Record<string, string>>;

export interface SigningIdentity {
  token: string;
  /** The agent's Ed25519 private JWK; validated here, imported once and not extractable. */
  privateJwk: unknown;
}

/** A signer over the agent's identity token and Ed25519 private key. */
export async function createIdentitySigner(identity: SigningIdentity): Promise<Signer> {
  const privateKey = await importPrivateKey(parsePrivateJwk(identity.privateJwk));
  return async (request) => {
    const { headers } = await signRequest({
      token: identity.token,
      privateKey,
      method: request.method,
      url: request.url,
      ...(request.body !== undefined ? { body: request.body } : {}),
      ...(request.correlationId !== undefined ? { correlationId: request.correlationId } : {}),
      ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
    });
    return headers;
  };
}
