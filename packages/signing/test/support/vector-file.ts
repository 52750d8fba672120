import { z } from "zod";

const jwk = z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string(), kid: z.string().optional() });
const privateJwk = jwk.extend({ d: z.string() });

/** The shape of the contract's test-vectors/signing-v1.json (docs/test-vectors/), which packages/signing/test-vectors/* copy. */
export const vectorFileSchema = z.object({
  description: z.string(),
  registry: z.object({ iss: z.string(), publicJwk: jwk, privateJwk }),
  agent: z.object({ id: z.string(), publicJwk: jwk, privateJwk }),
  identityToken: z.object({
    header: z.object({ alg: z.string(), typ: z.string(), kid: z.string() }),
    claims: z.object({
      iss: z.string(),
      sub: z.string(),
      aud: z.string(),
      iat: z.number(),
      exp: z.number(),
      jti: z.string(),
      cnf: z.object({ jwk }),
      relay: z.string(),
    }),
    token: z.string(),
    tokenHash: z.string(),
  }),
  requests: z
    .array(
      z.object({
        name: z.string(),
        method: z.string(),
        host: z.string(),
        path: z.string(),
        timestamp: z.string(),
        nonce: z.string(),
        body: z.string().nullable(),
        correlationId: z.string(),
        idempotencyKey: z.string(),
        contentDigest: z.string(),
        canonical: z.string(),
        signature: z.string(),
      }),
    )
    .min(1),
});
export type VectorFile = z.infer<typeof vectorFileSchema>;
